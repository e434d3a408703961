// adapter_config.json's bytes to a JSON value. PEFT writes the file with Python's json.dumps, which writes
// NaN, Infinity and -Infinity as bare words that JSON does not have: they are read as the numbers they stand
// for, so that the field holding one is refused by name (peft-config.ts) rather than the whole file as
// "not valid JSON".

import { checkAdapterFileSize } from './adapter-limits';
import { ModelFormatError } from '../model/errors';

const PYTHON_NUMBERS: Record<string, number> = { '-Infinity': -Infinity, Infinity, NaN };
const PYTHON_WORDS = Object.keys(PYTHON_NUMBERS);
/** Stands in for a Python number while JSON.parse reads the text; no real config holds a string like it. */
const MARK = '\u0000tunelab-python-number:';

/** The text with each NaN / Infinity / -Infinity outside a string replaced by a marked JSON string. */
function markPythonNumbers(text: string): string {
  const parts: string[] = [];
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    const word = PYTHON_WORDS.find((w) => text.startsWith(w, i));
    if (word) {
      parts.push(text.slice(from, i), JSON.stringify(MARK + word));
      i += word.length - 1;
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts.join('');
}

/** adapter_config.json parsed, with `label` (the file as the user knows it) named on every error. */
export function parseAdapterConfigBytes(bytes: Uint8Array, label: string): unknown {
  checkAdapterFileSize(label, 'adapter_config.json', bytes.length);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ModelFormatError(label, 'is not UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const marked = markPythonNumbers(text);
    if (marked !== text) {
      try {
        return JSON.parse(marked, (_key, value: unknown) => (typeof value === 'string' && value.startsWith(MARK) ? PYTHON_NUMBERS[value.slice(MARK.length)] : value));
      } catch {
        // Not valid even with Python's numbers: report the first error, as JSON.parse saw the file.
      }
    }
    throw new ModelFormatError(label, `is not valid JSON (${(err as Error).message})`);
  }
}
