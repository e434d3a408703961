// Python source for values written into a generated script: strings with every non-ASCII or control character
// escaped (so the file's encoding never matters and a surrogate pair becomes one \U code point, not two
// lone halves), numbers in JavaScript's shortest round-trip form (Python's float() reads it back to the same
// double), booleans, None, lists and calls of a helper the script defines. One value per keyword line in a
// config call, so a test can read each `keyword=value,` back; a value may also name a constant of the script
// or call one of its helpers.

/** A call of a function the generated script defines, e.g. per_process(4). */
export interface PyCall {
  call: string;
  args: PyValue[];
}

/** A name the generated script defines, e.g. OUTPUT_DIR. */
export interface PyName {
  name: string;
}

export type PyValue = string | number | boolean | null | PyValue[] | PyCall | PyName;

/** A Python string literal of `text` (double quotes, ASCII only). */
export function pyString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x7f) out += ch;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** A finite number as Python reads it back exactly (JavaScript's shortest form is valid Python). */
export function pyNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`${value} has no Python literal`);
  return Object.is(value, -0) ? '-0.0' : String(value);
}

export function pyValue(value: PyValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return `[${value.map(pyValue).join(', ')}]`;
  if ('name' in value) return value.name;
  return `${value.call}(${value.args.map(pyValue).join(', ')})`;
}

/** A keyword argument with a trailing comment: `    learning_rate=0.0002,  # the run's lr`. */
export interface PyKeyword {
  key: string;
  value: PyValue;
  comment?: string;
}

/** `NAME = Class(` then one `key=value,` line per keyword, then `)`. */
export function pyConstructor(variable: string, callee: string, keywords: readonly PyKeyword[]): string {
  const lines = keywords.map((k) => `    ${k.key}=${pyValue(k.value)},${k.comment ? `  # ${k.comment.replace(/\s+/g, ' ')}` : ''}`);
  return [`${variable} = ${callee}(`, ...lines, ')'].join('\n');
}
