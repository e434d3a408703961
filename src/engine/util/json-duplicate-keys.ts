// JSON.parse keeps the last of two equal keys without a word; formats that forbid duplicates (safetensors'
// header) need them found. This walks text that JSON.parse has already accepted, so it only has to tell
// strings, keys and nesting apart, in one pass.

export interface DuplicateKey {
  /** The key that appears twice (decoded: "a" and "\u0061" are the same key). */
  key: string;
  /** Keys of the objects that enclose it, outermost first ([] for the top-level object). */
  path: string[];
}

interface Frame {
  /** Keys seen so far; undefined for an array. */
  keys?: Set<string>;
  /** The key this object or array sits under in its parent (for the path). */
  name?: string;
  /** The last key read in this object: the name of the next nested value. */
  lastKey?: string;
}

/** Index just past the closing quote of the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i += 2; // backslash: skip the escaped character
    else if (c === 0x22) return i + 1;
    else i++;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The first key that appears twice in one object of `text` (valid JSON), or undefined. */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(text, i);
      let next = end;
      while (isSpace(text.charCodeAt(next))) next++;
      const frame = stack[stack.length - 1];
      if (text.charCodeAt(next) === 0x3a && frame?.keys) {
        const raw = text.slice(i + 1, end - 1);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw;
        if (frame.keys.has(key)) return { key, path: stack.flatMap((f) => (f.name === undefined ? [] : [f.name])) };
        frame.keys.add(key);
        frame.lastKey = key;
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      const parent = stack[stack.length - 1];
      stack.push({ keys: c === 0x7b ? new Set() : undefined, name: parent?.keys ? parent.lastKey : undefined });
      i++;
    } else {
      if (c === 0x7d || c === 0x5d) stack.pop();
      i++;
    }
  }
  return undefined;
}
