// The `node:assert` module that sandboxed code gets from require('node:assert') / require('assert').
// Plain JavaScript, evaluated as source text inside the sandbox realm (see ../sandbox-runtime.ts), so that
// the objects it compares and the errors it throws belong to that realm. MultiPL-E's HumanEval-JS tests call
// only assert.deepEqual, Node's legacy loose deep equality; the semantics follow Node's documentation of
// assert.deepEqual ("Comparison details") and its implementation, lib/internal/util/comparisons.js
// (innerDeepEqual / keyCheck / objEquiv / setEquiv / mapEquiv), written anew here:
//   - primitives compare with == (and NaN equals NaN); a primitive never equals an object;
//   - objects need the same Object.prototype.toString tag; prototypes are ignored (strict: compared);
//   - only own enumerable string keys count (strict: enumerable symbols too), compared unordered;
//   - arrays compare index by index (holes only match holes) plus their non-index keys;
//   - Date by time, RegExp by source and flags, Error by name and message, boxed primitives by value,
//     float typed arrays element by element, other typed arrays and ArrayBuffers byte by byte;
//   - Sets and Maps unordered, an entry matching any not yet matched entry of the other side;
//   - a cycle stops the recursion: both sides must close it at the same depth.
// Built-ins are captured when the module is made, so code that later patches Object.keys & co. cannot
// change what the assertions decide (Node does the same with its "primordials").
// A function body fragment: ../sandbox-runtime.ts composes it with lockdown.js and run-job.js.

function createAssertModule() {
  const ObjectKeys = Object.keys;
  const ObjectIs = Object.is;
  const ObjectGetPrototypeOf = Object.getPrototypeOf;
  const ObjectGetOwnPropertySymbols = Object.getOwnPropertySymbols;
  const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectDefineProperty = Object.defineProperty;
  const ArrayIsArray = Array.isArray;
  const ArrayBufferIsView = ArrayBuffer.isView;
  const NumberIsNaN = Number.isNaN;
  const ReflectApply = Reflect.apply;
  const hasOwn = Object.prototype.hasOwnProperty;
  const isEnumerable = Object.prototype.propertyIsEnumerable;
  const objectToString = Object.prototype.toString;
  const dateGetTime = Date.prototype.getTime;
  const regExpSource = ObjectGetOwnPropertyDescriptor(RegExp.prototype, 'source').get;
  const regExpFlags = ObjectGetOwnPropertyDescriptor(RegExp.prototype, 'flags').get;
  const mapSize = ObjectGetOwnPropertyDescriptor(Map.prototype, 'size').get;
  const setSize = ObjectGetOwnPropertyDescriptor(Set.prototype, 'size').get;
  const mapHas = Map.prototype.has;
  const mapGet = Map.prototype.get;
  const mapEntries = Map.prototype.entries;
  const setHas = Set.prototype.has;
  const setValues = Set.prototype.values;
  const arrayBufferByteLength = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  const sharedArrayBufferByteLength =
    typeof SharedArrayBuffer === 'function' ? ObjectGetOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength').get : undefined;
  const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
  const typedArrayName = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get;
  const Uint8ArrayCtor = Uint8Array;
  const ErrorCtor = Error;
  const boxedValueOf = [Number, String, Boolean, BigInt, Symbol].map((ctor) => ctor.prototype.valueOf);
  const jsonStringify = JSON.stringify;
  const StringCtor = String;

  function brand(getter, value) {
    if (getter === undefined) return false;
    try {
      ReflectApply(getter, value, []);
      return true;
    } catch {
      return false;
    }
  }
  const isDate = (v) => brand(dateGetTime, v);
  const isRegExp = (v) => brand(regExpSource, v) && v !== RegExp.prototype;
  const isMap = (v) => brand(mapSize, v);
  const isSet = (v) => brand(setSize, v);
  const isAnyArrayBuffer = (v) => brand(arrayBufferByteLength, v) || brand(sharedArrayBufferByteLength, v);
  const isError = (v) => ReflectApply(objectToString, v, []) === '[object Error]' || v instanceof ErrorCtor;
  const typedArrayKind = (v) => (ArrayBufferIsView(v) ? ReflectApply(typedArrayName, v, []) : undefined);
  /** Index of the boxed primitive's type in boxedValueOf, or -1. */
  function boxedKind(v) {
    for (let i = 0; i < boxedValueOf.length; i++) if (brand(boxedValueOf[i], v)) return i;
    return -1;
  }
  const isObject = (v) => v !== null && typeof v === 'object';
  const isIndexKey = (key) => {
    const n = +key;
    return StringCtor(n >>> 0) === key && n !== 4294967295;
  };

  function ownEnumerableKeys(value, strict, skipIndices) {
    const keys = [];
    for (const key of ObjectKeys(value)) if (!skipIndices || !isIndexKey(key)) keys.push(key);
    if (strict) for (const sym of ObjectGetOwnPropertySymbols(value)) if (ReflectApply(isEnumerable, value, [sym])) keys.push(sym);
    return keys;
  }

  function sameBytes(a, b) {
    const x = new Uint8ArrayCtor(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8ArrayCtor(b.buffer, b.byteOffset, b.byteLength);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }

  /** Pairs of objects being compared, outermost first: a cycle on both sides at the same depth is equal. */
  function deepEqual(a, b, strict, stack) {
    if (a === b) return a !== 0 || !strict || ObjectIs(a, b);
    if (strict) {
      if (typeof a !== 'object') return typeof a === 'number' && NumberIsNaN(a) && NumberIsNaN(b);
      if (typeof b !== 'object' || a === null || b === null) return false;
      if (ObjectGetPrototypeOf(a) !== ObjectGetPrototypeOf(b)) return false;
    } else {
      if (!isObject(a)) {
        // eslint-disable-next-line eqeqeq
        if (!isObject(b)) return a == b || (NumberIsNaN(a) && NumberIsNaN(b));
        return false;
      }
      if (!isObject(b)) return false;
    }
    if (ReflectApply(objectToString, a, []) !== ReflectApply(objectToString, b, [])) return false;

    for (let depth = 0; depth < stack.length; depth += 2) {
      if (stack[depth] === a) {
        for (let other = 1; other < stack.length; other += 2) if (stack[other] === b) return other === depth + 1;
      }
    }
    stack.push(a, b);
    try {
      return compareObjects(a, b, strict, stack);
    } finally {
      stack.length -= 2;
    }
  }

  function compareObjects(a, b, strict, stack) {
    if (ArrayIsArray(a)) {
      if (!ArrayIsArray(b) || a.length !== b.length) return false;
      const keys = ownEnumerableKeys(a, strict, true);
      if (keys.length !== ownEnumerableKeys(b, strict, true).length) return false;
      for (let i = 0; i < a.length; i++) {
        const inA = ReflectApply(hasOwn, a, [i]);
        if (inA !== ReflectApply(hasOwn, b, [i])) return false;
        if (inA && !deepEqual(a[i], b[i], strict, stack)) return false;
      }
      return sameKeyValues(a, b, keys, strict, stack);
    }
    if (ReflectApply(objectToString, a, []) === '[object Object]') {
      return compareKeys(a, b, strict, stack);
    }
    if (isDate(a)) {
      if (!isDate(b) || ReflectApply(dateGetTime, a, []) !== ReflectApply(dateGetTime, b, [])) return false;
    } else if (isRegExp(a)) {
      if (!isRegExp(b) || ReflectApply(regExpSource, a, []) !== ReflectApply(regExpSource, b, [])) return false;
      if (ReflectApply(regExpFlags, a, []) !== ReflectApply(regExpFlags, b, [])) return false;
    } else if (isError(a)) {
      if (!isError(b) || a.message !== b.message || a.name !== b.name) return false;
    } else if (ArrayBufferIsView(a)) {
      const kind = typedArrayKind(a);
      if (!ArrayBufferIsView(b) || kind !== typedArrayKind(b)) return false;
      if (!strict && (kind === 'Float32Array' || kind === 'Float64Array')) {
        if (a.length !== b.length) return false;
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      } else if (!sameBytes(a, b)) {
        return false;
      }
      const keys = ownEnumerableKeys(a, strict, true);
      if (keys.length !== ownEnumerableKeys(b, strict, true).length) return false;
      return sameKeyValues(a, b, keys, strict, stack);
    } else if (isSet(a)) {
      if (!isSet(b) || ReflectApply(setSize, a, []) !== ReflectApply(setSize, b, [])) return false;
      if (!sameSetEntries(a, b, strict, stack)) return false;
    } else if (isMap(a)) {
      if (!isMap(b) || ReflectApply(mapSize, a, []) !== ReflectApply(mapSize, b, [])) return false;
      if (!sameMapEntries(a, b, strict, stack)) return false;
    } else if (isAnyArrayBuffer(a)) {
      if (!isAnyArrayBuffer(b) || !sameBytes(new Uint8ArrayCtor(a), new Uint8ArrayCtor(b))) return false;
    } else if (boxedKind(a) >= 0) {
      const kind = boxedKind(a);
      if (boxedKind(b) !== kind) return false;
      const x = ReflectApply(boxedValueOf[kind], a, []);
      const y = ReflectApply(boxedValueOf[kind], b, []);
      if (kind === 0 ? !ObjectIs(x, y) : x !== y) return false;
    } else if (ArrayIsArray(b) || ArrayBufferIsView(b) || isSet(b) || isMap(b) || isDate(b) || isRegExp(b) || isAnyArrayBuffer(b) || boxedKind(b) >= 0 || isError(b)) {
      return false;
    }
    return compareKeys(a, b, strict, stack);
  }

  function compareKeys(a, b, strict, stack) {
    const keys = ownEnumerableKeys(a, strict, false);
    if (keys.length !== ownEnumerableKeys(b, strict, false).length) return false;
    return sameKeyValues(a, b, keys, strict, stack);
  }

  function sameKeyValues(a, b, keys, strict, stack) {
    for (const key of keys) if (!ReflectApply(hasOwn, b, [key])) return false;
    for (const key of keys) if (!deepEqual(a[key], b[key], strict, stack)) return false;
    return true;
  }

  /** Each entry of `a` takes the first not yet matched equal entry of `b` (a primitive present in both first). */
  function sameSetEntries(a, b, strict, stack) {
    const unmatched = [...ReflectApply(setValues, b, [])];
    for (const value of ReflectApply(setValues, a, [])) {
      let at = -1;
      if (!isObject(value) && ReflectApply(setHas, b, [value])) at = unmatched.indexOf(value);
      if (at < 0 && (isObject(value) || !strict)) at = unmatched.findIndex((other) => deepEqual(value, other, strict, stack));
      if (at < 0) return false;
      unmatched.splice(at, 1);
    }
    return true;
  }

  function sameMapEntries(a, b, strict, stack) {
    const unmatched = [...ReflectApply(mapEntries, b, [])];
    for (const [key, value] of ReflectApply(mapEntries, a, [])) {
      let at = -1;
      if (!isObject(key) && ReflectApply(mapHas, b, [key]) && deepEqual(value, ReflectApply(mapGet, b, [key]), strict, stack)) {
        at = unmatched.findIndex((entry) => entry[0] === key || (NumberIsNaN(key) && NumberIsNaN(entry[0])));
      }
      if (at < 0 && (isObject(key) || !strict)) {
        at = unmatched.findIndex((entry) => deepEqual(key, entry[0], strict, stack) && deepEqual(value, entry[1], strict, stack));
      }
      if (at < 0) return false;
      unmatched.splice(at, 1);
    }
    return true;
  }

  /** A short readable rendering of a value for assertion messages and console lines. */
  function inspect(value, depth) {
    if (typeof value === 'string') return depth === 0 ? value : jsonStringify(value);
    if (typeof value === 'bigint') return StringCtor(value) + 'n';
    if (typeof value === 'symbol' || typeof value === 'function') {
      try {
        return typeof value === 'function' ? '[Function ' + (value.name || 'anonymous') + ']' : value.toString();
      } catch {
        return '[' + typeof value + ']';
      }
    }
    if (!isObject(value)) return ObjectIs(value, -0) ? '-0' : StringCtor(value);
    if (depth > 3) return ArrayIsArray(value) ? '[Array]' : '[Object]';
    try {
      if (isError(value)) return StringCtor(value.name) + ': ' + StringCtor(value.message);
      if (isDate(value)) return 'Date(' + ReflectApply(dateGetTime, value, []) + ')';
      if (isRegExp(value)) return '/' + ReflectApply(regExpSource, value, []) + '/' + ReflectApply(regExpFlags, value, []);
      if (ArrayIsArray(value)) {
        const shown = value.slice(0, 50).map((v) => inspect(v, depth + 1));
        if (value.length > 50) shown.push('... ' + (value.length - 50) + ' more items');
        return '[' + shown.join(', ') + ']';
      }
      if (isSet(value)) return 'Set(' + inspect([...ReflectApply(setValues, value, [])], depth + 1) + ')';
      if (isMap(value)) return 'Map(' + inspect([...ReflectApply(mapEntries, value, [])], depth + 1) + ')';
      const keys = ObjectKeys(value);
      const shown = keys.slice(0, 50).map((k) => jsonStringify(k) + ': ' + inspect(value[k], depth + 1));
      if (keys.length > 50) shown.push('... ' + (keys.length - 50) + ' more keys');
      return '{' + shown.join(', ') + '}';
    } catch {
      return '[object]';
    }
  }

  class AssertionError extends ErrorCtor {
    constructor(options) {
      super(options.message);
      ObjectDefineProperty(this, 'name', { value: 'AssertionError', writable: true, configurable: true });
      this.code = 'ERR_ASSERTION';
      this.actual = options.actual;
      this.expected = options.expected;
      this.operator = options.operator;
      this.generatedMessage = options.generated;
    }
  }

  function fail(actual, expected, message, operator, defaultMessage) {
    if (message instanceof ErrorCtor) throw message;
    const generated = message === undefined;
    throw new AssertionError({ message: generated ? defaultMessage() : StringCtor(message), actual, expected, operator, generated });
  }
  const pair = (title, actual, expected, verb) => () => title + ':\n\n' + inspect(actual, 1) + '\n\n' + verb + '\n\n' + inspect(expected, 1) + '\n';

  function ok(value, message) {
    if (!value) fail(value, true, message, '==', () => 'The expression evaluated to a falsy value:\n\n  ' + inspect(value, 1) + '\n');
  }
  const assert = function assert(value, message) {
    ok(value, message);
  };
  const methods = {
    ok,
    fail(message) {
      fail(undefined, undefined, message === undefined ? 'Failed' : message, 'fail', () => 'Failed');
    },
    equal(actual, expected, message) {
      // eslint-disable-next-line eqeqeq
      if (!(actual == expected || (NumberIsNaN(actual) && NumberIsNaN(expected)))) {
        fail(actual, expected, message, '==', () => inspect(actual, 1) + ' == ' + inspect(expected, 1));
      }
    },
    notEqual(actual, expected, message) {
      // eslint-disable-next-line eqeqeq
      if (actual == expected || (NumberIsNaN(actual) && NumberIsNaN(expected))) {
        fail(actual, expected, message, '!=', () => inspect(actual, 1) + ' != ' + inspect(expected, 1));
      }
    },
    strictEqual(actual, expected, message) {
      if (!ObjectIs(actual, expected)) fail(actual, expected, message, 'strictEqual', pair('Expected values to be strictly equal', actual, expected, 'should equal'));
    },
    notStrictEqual(actual, expected, message) {
      if (ObjectIs(actual, expected)) fail(actual, expected, message, 'notStrictEqual', () => 'Expected "actual" to be strictly unequal to: ' + inspect(expected, 1));
    },
    deepEqual(actual, expected, message) {
      if (!deepEqual(actual, expected, false, [])) {
        fail(actual, expected, message, 'deepEqual', pair('Expected values to be loosely deep-equal', actual, expected, 'should loosely deep-equal'));
      }
    },
    notDeepEqual(actual, expected, message) {
      if (deepEqual(actual, expected, false, [])) {
        fail(actual, expected, message, 'notDeepEqual', () => '"actual" deepEqual "expected": ' + inspect(actual, 1));
      }
    },
    deepStrictEqual(actual, expected, message) {
      if (!deepEqual(actual, expected, true, [])) {
        fail(actual, expected, message, 'deepStrictEqual', pair('Expected values to be strictly deep-equal', actual, expected, 'should equal'));
      }
    },
    notDeepStrictEqual(actual, expected, message) {
      if (deepEqual(actual, expected, true, [])) {
        fail(actual, expected, message, 'notDeepStrictEqual', () => 'Expected "actual" not to be strictly deep-equal to: ' + inspect(expected, 1));
      }
    },
    throws(block, message) {
      let threw = false;
      try {
        block();
      } catch {
        threw = true;
      }
      if (!threw) fail(undefined, undefined, typeof message === 'string' ? message : undefined, 'throws', () => 'Missing expected exception.');
    },
  };
  for (const name of ObjectKeys(methods)) assert[name] = methods[name];
  assert.AssertionError = AssertionError;
  return { assert, inspect };
}
