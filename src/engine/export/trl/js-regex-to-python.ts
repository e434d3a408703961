// A JavaScript RegExp rewritten as a Python `re` pattern that matches the same text, for the built-in GRPO
// rewards written as Python (format, regex, answer-match's extraction pattern). The two dialects share most
// syntax but not its meaning: JavaScript's \d and \w are ASCII, its \s is a fixed set (WhiteSpace and
// LineTerminator of ECMA-262), "." stops at four line terminators, and "$" without the m flag is only the end
// of the input (Python's also matches before a final "\n"). So every class escape, ".", "^", "$", \b and \B is
// spelled out as an explicit class or lookaround; literal characters are escaped; named groups and
// backreferences take Python's spelling. What cannot be said in Python (\p{...}, the v flag, inline modifier
// groups, legacy octal escapes) is refused with the reason.
// Known remaining differences, documented rather than refused: case-insensitive matching of non-ASCII letters
// follows Python's case folding; without the u flag JavaScript sees a character outside the BMP as two units.

export class RegexTranslationError extends Error {
  override readonly name = 'RegexTranslationError';
}

/** ECMA-262 WhiteSpace and LineTerminator: what JavaScript's \s matches, as Python class content. */
const JS_SPACE = '\\t\\n\\x0b\\x0c\\r\\x20\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const WORD = 'A-Za-z0-9_';
const DIGIT = '0-9';
const LINE_TERMINATORS = '\\n\\r\\u2028\\u2029';

/** Class content of \d \w \s, and whether the escape is the negated one. */
const CLASS_ESCAPES: Record<string, { content: string; negated: boolean }> = {
  d: { content: DIGIT, negated: false },
  D: { content: DIGIT, negated: true },
  w: { content: WORD, negated: false },
  W: { content: WORD, negated: true },
  s: { content: JS_SPACE, negated: false },
  S: { content: JS_SPACE, negated: true },
};

const CONTROL_ESCAPES: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 };
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** One code point as Python regex source: letters and digits as they are, the rest escaped. */
function literal(code: number): string {
  if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return String.fromCharCode(code);
  if (code > 0x20 && code < 0x7f) return `\\${String.fromCharCode(code)}`;
  if (code <= 0xff) return `\\x${hex(code, 2)}`;
  if (code <= 0xffff) return `\\u${hex(code, 4)}`;
  return `\\U${hex(code, 8)}`;
}

const isHex = (s: string) => /^[0-9a-fA-F]+$/.test(s);

export interface PythonRegex {
  /** Python `re` source (flags inline, e.g. "(?i)"). */
  source: string;
}

class Translator {
  private i = 0;
  private readonly unicode: boolean;
  private readonly dotAll: boolean;
  private readonly multiline: boolean;
  private readonly groups: number;
  private readonly named: boolean;

  constructor(
    private readonly src: string,
    flags: string,
  ) {
    if (flags.includes('v')) this.fail('the v flag (set notation) has no Python equivalent');
    this.unicode = flags.includes('u');
    this.dotAll = flags.includes('s');
    this.multiline = flags.includes('m');
    const counted = countGroups(src);
    this.groups = counted.groups;
    this.named = counted.named;
  }

  fail(why: string): never {
    throw new RegexTranslationError(`/${this.src}/: ${why}`);
  }

  translate(): string {
    let out = '';
    while (this.i < this.src.length) out += this.term();
    return out;
  }

  /** The code point at i (a surrogate pair is one), and its length in units. */
  private codeAt(at: number): { code: number; length: number } {
    const code = this.src.codePointAt(at)!;
    return { code, length: code > 0xffff ? 2 : 1 };
  }

  private term(): string {
    const ch = this.src[this.i];
    switch (ch) {
      case '\\':
        return this.escape();
      case '[':
        return this.characterClass();
      case '(':
        return this.group();
      case '.':
        this.i++;
        return this.dotAll ? '[\\s\\S]' : `[^${LINE_TERMINATORS}]`;
      case '^':
        this.i++;
        return this.multiline ? `(?:\\A|(?<=[${LINE_TERMINATORS}]))` : '\\A';
      case '$':
        this.i++;
        return this.multiline ? `(?=[${LINE_TERMINATORS}]|\\Z)` : '\\Z';
      case ')':
      case '|':
        this.i++;
        return ch;
      case '*':
      case '+':
      case '?':
        this.i++;
        // A lazy marker after a quantifier stays as it is.
        return ch;
      case '{': {
        const quantifier = /^\{\d+(,\d*)?\}/.exec(this.src.slice(this.i));
        this.i += quantifier ? quantifier[0].length : 1;
        return quantifier ? quantifier[0] : '\\{';
      }
      default: {
        const { code, length } = this.codeAt(this.i);
        this.i += length;
        if (length === 2 && !this.unicode && /^[*+?{]/.test(this.src.slice(this.i))) {
          this.fail('a quantifier after a character outside the BMP applies to its second UTF-16 unit in JavaScript (add the u flag)');
        }
        return literal(code);
      }
    }
  }

  private group(): string {
    const rest = this.src.slice(this.i);
    for (const opener of ['(?:', '(?=', '(?!', '(?<=', '(?<!']) {
      if (rest.startsWith(opener)) {
        this.i += opener.length;
        return opener;
      }
    }
    const named = /^\(\?<([^>]+)>/.exec(rest);
    if (named) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(named[1])) this.fail(`the group name "${named[1]}" is not a Python identifier`);
      this.i += named[0].length;
      return `(?P<${named[1]}>`;
    }
    if (rest.startsWith('(?')) this.fail('inline modifier groups such as (?i:...) are not translated');
    this.i++;
    return '(';
  }

  /** A code point escape (\t, \x41, \u0041, \u{1F600}, \cJ, \0) at i (after the backslash), or undefined. */
  private characterEscape(): number | undefined {
    const c = this.src[this.i];
    if (c in CONTROL_ESCAPES) {
      this.i++;
      return CONTROL_ESCAPES[c];
    }
    if (c === '0' && !/[0-9]/.test(this.src[this.i + 1] ?? '')) {
      this.i++;
      return 0;
    }
    if (c === 'c' && /[A-Za-z]/.test(this.src[this.i + 1] ?? '')) {
      this.i += 2;
      return this.src.charCodeAt(this.i - 1) % 32;
    }
    if (c === 'x' && isHex(this.src.slice(this.i + 1, this.i + 3)) && this.src.slice(this.i + 1, this.i + 3).length === 2) {
      this.i += 3;
      return parseInt(this.src.slice(this.i - 2, this.i), 16);
    }
    if (c === 'u') {
      const braced = this.unicode ? /^u\{([0-9a-fA-F]+)\}/.exec(this.src.slice(this.i)) : null;
      if (braced) {
        this.i += braced[0].length;
        return parseInt(braced[1], 16);
      }
      const four = this.src.slice(this.i + 1, this.i + 5);
      if (four.length === 4 && isHex(four)) {
        this.i += 5;
        const unit = parseInt(four, 16);
        // \uD83D\uDE00: one code point in the text, whichever the flags.
        const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(this.src.slice(this.i));
        if (unit >= 0xd800 && unit <= 0xdbff && low) {
          this.i += 6;
          return 0x10000 + ((unit - 0xd800) << 10) + (parseInt(low[1], 16) - 0xdc00);
        }
        return unit;
      }
    }
    return undefined;
  }

  private escape(): string {
    this.i++; // the backslash
    const c = this.src[this.i];
    if (c === undefined) this.fail('ends with a lone backslash');
    const cls = CLASS_ESCAPES[c];
    if (cls) {
      this.i++;
      return `[${cls.negated ? '^' : ''}${cls.content}]`;
    }
    if (c === 'b' || c === 'B') {
      this.i++;
      const boundary = `(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}])`;
      const inside = `(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}])`;
      return `(?:${c === 'b' ? boundary : inside})`;
    }
    if (/[1-9]/.test(c)) {
      const digits = /^\d+/.exec(this.src.slice(this.i))![0];
      const n = Number(digits);
      if (n > this.groups) this.fail(`\\${digits} refers to no group (JavaScript reads it as a legacy octal escape)`);
      this.i += digits.length;
      // JavaScript: a group that has not matched matches the empty string; Python's bare \n would fail.
      return `(?(${n})(?:\\${n}))`;
    }
    if (c === 'k' && (this.named || this.unicode)) {
      const name = /^k<([^>]+)>/.exec(this.src.slice(this.i));
      if (!name) this.fail('\\k must name a group: \\k<name>');
      this.i += name[0].length;
      return `(?(${name[1]})(?P=${name[1]}))`;
    }
    if ((c === 'p' || c === 'P') && this.unicode) this.fail('Unicode property escapes (\\p{...}) have no equivalent in Python\'s re');
    const code = this.characterEscape();
    if (code !== undefined) return literal(code);
    // An identity escape: the character itself.
    const { code: self, length } = this.codeAt(this.i);
    this.i += length;
    return literal(self);
  }

  private characterClass(): string {
    this.i++; // [
    let negated = false;
    if (this.src[this.i] === '^') {
      negated = true;
      this.i++;
    }
    type Item = { kind: 'char'; code: number } | { kind: 'set'; content: string; negated: boolean };
    const items: (Item | { kind: 'range'; from: number; to: number })[] = [];
    const atom = (): Item => {
      if (this.src[this.i] !== '\\') {
        const { code, length } = this.codeAt(this.i);
        this.i += length;
        return { kind: 'char', code };
      }
      this.i++;
      const c = this.src[this.i];
      const cls = CLASS_ESCAPES[c];
      if (cls) {
        this.i++;
        return { kind: 'set', ...cls };
      }
      if (c === 'b') {
        this.i++;
        return { kind: 'char', code: 8 };
      }
      if (c === '-') {
        this.i++;
        return { kind: 'char', code: 0x2d };
      }
      if (/[1-9]/.test(c)) this.fail(`\\${c} inside a class is a legacy octal escape`);
      if ((c === 'p' || c === 'P') && this.unicode) this.fail('Unicode property escapes (\\p{...}) have no equivalent in Python\'s re');
      const code = this.characterEscape();
      if (code !== undefined) return { kind: 'char', code };
      const self = this.codeAt(this.i);
      this.i += self.length;
      return { kind: 'char', code: self.code };
    };
    while (this.i < this.src.length && this.src[this.i] !== ']') {
      const from = atom();
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const to = atom();
        if (from.kind === 'char' && to.kind === 'char') {
          items.push({ kind: 'range', from: from.code, to: to.code });
          continue;
        }
        // A class escape at either end makes the "-" a literal (JavaScript's Annex B).
        items.push(from, { kind: 'char', code: 0x2d }, to);
        continue;
      }
      items.push(from);
    }
    if (this.src[this.i] !== ']') this.fail('a character class is never closed');
    this.i++;
    if (items.length === 0) return negated ? '[\\s\\S]' : '(?!)';
    const negatedSets = items.filter((it): it is Extract<Item, { kind: 'set' }> => it.kind === 'set' && it.negated);
    const body = items
      .filter((it) => !(it.kind === 'set' && it.negated))
      .map((it) => (it.kind === 'range' ? `${literal(it.from)}-${literal(it.to)}` : it.kind === 'set' ? it.content : literal(it.code)))
      .join('');
    if (negatedSets.length > 0) {
      // [a\S] is "a, or not a space": an alternation. [^a\S] is "not a, and a space": lookaheads.
      if (!negated) return `(?:${[...(body ? [`[${body}]`] : []), ...negatedSets.map((set) => `[^${set.content}]`)].join('|')})`;
      const [last, ...others] = [...negatedSets].reverse();
      return `(?:${body ? `(?![${body}])` : ''}${others.map((set) => `(?=[${set.content}])`).join('')}[${last.content}])`;
    }
    return `[${negated ? '^' : ''}${body}]`;
  }
}

/** Capturing groups in a pattern (outside classes, not escaped), and whether any is named. */
function countGroups(src: string): { groups: number; named: boolean } {
  let groups = 0;
  let named = false;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') {
      if (src[i + 1] !== '?') groups++;
      else if (src[i + 2] === '<' && src[i + 3] !== '=' && src[i + 3] !== '!') {
        groups++;
        named = true;
      }
    }
  }
  return { groups, named };
}

/** The Python pattern matching what `regex` matches (its g, y and d flags do not change what matches). */
export function jsRegexToPython(regex: RegExp): PythonRegex {
  const body = new Translator(regex.source, regex.flags).translate();
  return { source: (regex.flags.includes('i') ? '(?i)' : '') + body };
}
