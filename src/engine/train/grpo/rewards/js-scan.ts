// A small JavaScript tokenizer, enough to read the top level of a reward module: where comments, strings,
// template literals and regex literals are (so that an `export` or `import` inside them is not mistaken
// for a statement), and the words and punctuation of the code between them, with their lines.
// It is not a parser: a `/` after `)`, `]`, `}`, a name or a literal is taken for division, anything else
// starts a regex literal (the usual heuristic; a regex right after a block's `}` is misread, which only
// matters if that regex contains the word import or export).

export type TokenType = 'word' | 'number' | 'string' | 'template' | 'regex' | 'punct';

export interface Token {
  type: TokenType;
  text: string;
  start: number;
  end: number;
  /** 1-based line of the token's start. */
  line: number;
}

export interface ScannedSource {
  tokens: Token[];
  /** [start, end) of each comment (and a leading #! line). */
  comments: [number, number][];
}

export class ScanError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'ScanError';
  }
}

const WORD_START = /[\p{ID_Start}$_]/u;
const WORD_PART = /[\p{ID_Continue}$\u200c\u200d]/u;
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

export function scanJavaScript(source: string): ScannedSource {
  const tokens: Token[] = [];
  const comments: [number, number][] = [];
  // Each open `${` of a template literal: the brace depth inside it, so its closing `}` resumes the template.
  const templateBraces: number[] = [];
  let line = 1;
  let i = 0;

  const advanceLines = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (source.charCodeAt(k) === 10) line++;
  };
  const push = (type: TokenType, start: number, end: number, startLine: number): void => {
    tokens.push({ type, text: source.slice(start, end), start, end, line: startLine });
  };
  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (prev === undefined) return true;
    if (prev.type === 'punct') return !(prev.text === ')' || prev.text === ']' || prev.text === '}');
    return prev.type === 'word' && REGEX_AFTER_WORDS.has(prev.text);
  };

  /** Scans template text from `from` (just after ` or a closing }) to the next ` or ${. */
  const scanTemplatePart = (from: number, startLine: number): void => {
    let k = from;
    while (k < source.length) {
      const ch = source[k];
      if (ch === '\\') k += 2;
      else if (ch === '`') {
        advanceLines(i, k + 1);
        push('template', i, k + 1, startLine);
        i = k + 1;
        return;
      } else if (ch === '$' && source[k + 1] === '{') {
        advanceLines(i, k + 2);
        push('template', i, k, startLine);
        tokens.push({ type: 'punct', text: '${', start: k, end: k + 2, line });
        templateBraces.push(0);
        i = k + 2;
        return;
      } else k++;
    }
    throw new ScanError('unterminated template literal', startLine);
  };

  if (source.startsWith('#!')) {
    const end = source.indexOf('\n');
    i = end < 0 ? source.length : end;
    comments.push([0, i]);
  }
  while (i < source.length) {
    const ch = source[i];
    const startLine = line;
    if (ch === '\n') {
      line++;
      i++;
    } else if (/\s/.test(ch)) {
      i++;
    } else if (ch === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      const stop = end < 0 ? source.length : end;
      comments.push([i, stop]);
      i = stop;
    } else if (ch === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new ScanError('unterminated /* comment', startLine);
      comments.push([i, end + 2]);
      advanceLines(i, end + 2);
      i = end + 2;
    } else if (ch === '"' || ch === "'") {
      let k = i + 1;
      while (k < source.length && source[k] !== ch) {
        if (source[k] === '\n') throw new ScanError('unterminated string', startLine);
        k += source[k] === '\\' ? 2 : 1;
      }
      if (k >= source.length) throw new ScanError('unterminated string', startLine);
      advanceLines(i, k + 1); // escaped line continuations
      push('string', i, k + 1, startLine);
      i = k + 1;
    } else if (ch === '`') {
      scanTemplatePart(i + 1, startLine);
    } else if (ch === '/' && regexAllowed()) {
      let k = i + 1;
      let inClass = false;
      while (k < source.length && (inClass || source[k] !== '/')) {
        if (source[k] === '\n') throw new ScanError('unterminated regular expression', startLine);
        if (source[k] === '\\') k++;
        else if (source[k] === '[') inClass = true;
        else if (source[k] === ']') inClass = false;
        k++;
      }
      if (k >= source.length) throw new ScanError('unterminated regular expression', startLine);
      k++;
      while (k < source.length && /[a-z]/i.test(source[k])) k++;
      push('regex', i, k, startLine);
      i = k;
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      let k = i + 1;
      while (k < source.length && /[\w.]/.test(source[k])) k++;
      push('number', i, k, startLine);
      i = k;
    } else if (WORD_START.test(ch) || ch === '\\') {
      let k = i + 1;
      while (k < source.length && (WORD_PART.test(source[k]) || source[k] === '\\')) k++;
      push('word', i, k, startLine);
      i = k;
    } else if (ch === '}' && templateBraces.length > 0 && templateBraces[templateBraces.length - 1] === 0) {
      templateBraces.pop();
      tokens.push({ type: 'punct', text: '}', start: i, end: i + 1, line });
      i++;
      scanTemplatePart(i, line);
    } else {
      if (templateBraces.length > 0) {
        if (ch === '{') templateBraces[templateBraces.length - 1]++;
        else if (ch === '}') templateBraces[templateBraces.length - 1]--;
      }
      push('punct', i, i + 1, startLine);
      i++;
    }
  }
  return { tokens, comments };
}
