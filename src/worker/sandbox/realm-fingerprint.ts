// What the browser sandbox worker compares before and after each job to notice that a job changed the realm
// it shares with the next one: every own property (value, getter, setter, writability) and the
// extensibility of the global object, its prototypes, and the objects reachable from them through data
// properties up to three steps deep (the built-in constructors, their prototypes and static members, the
// methods on those). Built-ins used here are captured at load, before any job can patch them.

const ownKeys = Reflect.ownKeys;
const getOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
const getPrototypeOf = Reflect.getPrototypeOf;
const isExtensible = Reflect.isExtensible;
const apply = Reflect.apply;
const objectIs = Object.is;
const setHas = Set.prototype.has;
const setAdd = Set.prototype.add;
const SetCtor = Set;

const MAX_DEPTH = 3;

/** A flat list of the visited objects' identities, keys and property slots, in visiting order. */
export function realmFingerprint(): unknown[] {
  const parts: unknown[] = [];
  const seen = new SetCtor<object>();
  const push = (value: unknown) => {
    parts[parts.length] = value;
  };
  const visit = (target: unknown, depth: number): void => {
    if ((typeof target !== 'object' && typeof target !== 'function') || target === null) return;
    if (apply(setHas, seen, [target])) return;
    apply(setAdd, seen, [target]);
    push(target);
    push(isExtensible(target));
    const keys = ownKeys(target);
    for (let i = 0; i < keys.length; i++) {
      const descriptor = getOwnPropertyDescriptor(target, keys[i])!;
      push(keys[i]);
      push(descriptor.value);
      push(descriptor.get);
      push(descriptor.set);
      push(descriptor.writable);
      if (depth < MAX_DEPTH && 'value' in descriptor) visit(descriptor.value, depth + 1);
    }
  };
  for (let o: object | null = globalThis; o !== null; o = getPrototypeOf(o)) visit(o, 0);
  return parts;
}

export function sameFingerprint(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!objectIs(a[i], b[i])) return false;
  return true;
}
