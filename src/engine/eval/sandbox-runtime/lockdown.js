// Strips the sandbox realm down to ECMAScript's own built-ins before any job runs. Plain JavaScript,
// evaluated as source text inside that realm (a fresh node:vm context in Node, the dedicated sandbox worker
// in the browser); see ../sandbox-runtime.ts for how the pieces are put together, and
// src/worker/sandbox/sandbox.worker.ts for why this is the isolation the browser relies on, and its limits.
//
// Allowlist, not blocklist: every global (and every property of the global's prototype chain) that is not a
// JavaScript built-in becomes an accessor that throws, so an API a browser adds tomorrow is blocked too.
// The network and storage APIs that matter most are also defined where absent (a vm context has no fetch),
// so `globalThis.indexedDB` throws the same error in Node and in the browser instead of reading undefined.
// Dynamic code (eval, the Function constructors, string timers) is cut off because code built at run time
// could call import(), which no property can block; run-job.js refuses source text that names `import`.
// A function body fragment: composed with assert.js and run-job.js.

/** ECMAScript's global properties (ES2025 plus Stage 4 additions engines ship): all that jobs may reach. */
const SANDBOX_ALLOWED_GLOBALS = [
  'globalThis', 'Infinity', 'NaN', 'undefined', 'eval', 'isFinite', 'isNaN', 'parseFloat', 'parseInt',
  'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape',
  'AggregateError', 'Array', 'ArrayBuffer', 'Atomics', 'BigInt', 'BigInt64Array', 'BigUint64Array', 'Boolean',
  'DataView', 'Date', 'Error', 'EvalError', 'FinalizationRegistry', 'Float16Array', 'Float32Array',
  'Float64Array', 'Function', 'Int8Array', 'Int16Array', 'Int32Array', 'Intl', 'Iterator', 'JSON', 'Map',
  'Math', 'Number', 'Object', 'Promise', 'Proxy', 'RangeError', 'ReferenceError', 'Reflect', 'RegExp', 'Set',
  'SharedArrayBuffer', 'String', 'Symbol', 'SyntaxError', 'TypeError', 'Uint8Array', 'Uint8ClampedArray',
  'Uint16Array', 'Uint32Array', 'URIError', 'WeakMap', 'WeakRef', 'WeakSet', 'SuppressedError',
  'DisposableStack', 'AsyncDisposableStack',
];

/** Network, storage and escape hatches that must throw even where the runtime never had them. */
const SANDBOX_BLOCKED_APIS = [
  'fetch', 'fetchLater', 'XMLHttpRequest', 'WebSocket', 'WebSocketStream', 'EventSource', 'WebTransport',
  'RTCPeerConnection', 'webkitRTCPeerConnection', 'importScripts', 'Worker', 'SharedWorker', 'BroadcastChannel',
  'navigator', 'sendBeacon', 'indexedDB', 'caches', 'localStorage', 'sessionStorage', 'cookieStore',
  'requestFileSystem', 'webkitRequestFileSystem', 'webkitRequestFileSystemSync', 'FontFace', 'fonts',
  'postMessage', 'close', 'WebAssembly', 'setTimeout', 'setInterval', 'process', 'require', 'module',
  'Buffer', 'Deno', 'Bun',
];

function sandboxBlockedError(name) {
  return new TypeError(name + ' is not available in the sandbox: it has no network, storage or host access');
}

/**
 * Locks `global` down. Returns the names it could not neutralise and that are still reachable (the caller
 * refuses to run jobs when one of them is a network or storage API).
 */
function lockDownRealm(global) {
  const ObjectDefineProperty = Object.defineProperty;
  const ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
  const ObjectGetPrototypeOf = Object.getPrototypeOf;
  const allowed = new Set(SANDBOX_ALLOWED_GLOBALS);
  const leftovers = [];

  function block(target, name) {
    const thrower = function () {
      throw sandboxBlockedError(name);
    };
    try {
      ObjectDefineProperty(target, name, { get: thrower, set: thrower, enumerable: false, configurable: false });
    } catch {
      // Non-configurable: it stays only if reading it still works.
      try {
        void target[name];
        leftovers.push(name);
      } catch {
        // Already unreachable.
      }
    }
  }

  // The global object and its prototypes (in a worker: DedicatedWorkerGlobalScope.prototype,
  // WorkerGlobalScope.prototype, EventTarget.prototype), stopping at Object.prototype.
  const chain = [];
  for (let o = global; o !== null && o !== Object.prototype; o = ObjectGetPrototypeOf(o)) chain.push(o);
  for (const target of chain) {
    for (const name of ObjectGetOwnPropertyNames(target)) {
      if (target === global ? !allowed.has(name) : true) block(target, name);
    }
  }
  const hasOwn = Object.prototype.hasOwnProperty;
  for (const name of SANDBOX_BLOCKED_APIS) if (!hasOwn.call(global, name)) block(global, name);

  // Dynamic code generation. The replacements keep `prototype`, so `f instanceof Function` still holds.
  const dynamicCode = (kind) => {
    const Blocked = function () {
      throw sandboxBlockedError(kind);
    };
    return Blocked;
  };
  ObjectDefineProperty(global, 'eval', { value: dynamicCode('eval'), writable: false, configurable: false });
  const constructors = [
    ['Function', function () {}],
    ['AsyncFunction', async function () {}],
    ['GeneratorFunction', function* () {}],
    ['AsyncGeneratorFunction', async function* () {}],
  ];
  for (const [kind, sample] of constructors) {
    const prototype = ObjectGetPrototypeOf(sample);
    const Blocked = dynamicCode(kind + ' constructor');
    ObjectDefineProperty(Blocked, 'prototype', { value: prototype });
    ObjectDefineProperty(Blocked, 'name', { value: kind });
    ObjectDefineProperty(prototype, 'constructor', { value: Blocked, writable: false, configurable: false });
    if (kind === 'Function') ObjectDefineProperty(global, 'Function', { value: Blocked, writable: false, configurable: false });
  }
  return leftovers;
}
