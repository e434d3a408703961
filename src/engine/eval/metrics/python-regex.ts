// Python `re` patterns (as lm-evaluation-harness yaml files write them) compiled to JavaScript RegExps with
// the same meaning for the constructs those configs use:
// - leading inline flags "(?s)", "(?i)", "(?m)" (also combined, "(?si)") become RegExp flags;
// - "$" outside a character class, without (?m), matches at the end OR before a final "\n" in Python
//   (re docs: "end of the string or just before the newline at the end"), so it becomes (?=\n?$);
// - "\Z" (end of string) and "\A" (start) become JavaScript's end and start anchors;
// - "(?P<name>" named groups become "(?<name>", "(?P=name)" back-references "\k<name>".
// Anything else is passed through; JavaScript rejects what it cannot parse with a SyntaxError.

const FLAG_MAP: Record<string, string> = { s: 's', i: 'i', m: 'm' };

/** A global JavaScript RegExp equivalent to the Python pattern (for re.sub / re.findall semantics). */
export function pythonRegex(pattern: string): RegExp {
  let body = pattern;
  let flags = 'g';
  const inline = /^\(\?([a-zA-Z]+)\)/.exec(body);
  if (inline) {
    for (const f of inline[1]) {
      const js = FLAG_MAP[f];
      if (!js) throw new Error(`regex ${JSON.stringify(pattern)}: inline flag (?${f}) is not supported`);
      if (!flags.includes(js)) flags += js;
    }
    body = body.slice(inline[0].length);
  }
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\') {
      const next = body[i + 1] ?? '';
      if (!inClass && next === 'Z') out += '(?![\\s\\S])';
      else if (!inClass && next === 'A') out += '(?<![\\s\\S])';
      else out += ch + next;
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
      // A "]" right after "[" or "[^" is a literal in both languages' classes.
      if (body[i + 1] === '^') out += body[++i];
      if (body[i + 1] === ']') out += body[++i];
    } else if (ch === '$' && !multiline) {
      out += '(?=\\n?(?![\\s\\S]))';
    } else if (body.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (body.startsWith('(?P=', i)) {
      const close = body.indexOf(')', i);
      out += `\\k<${body.slice(i + 4, close)}>`;
      i = close;
    } else out += ch;
  }
  return new RegExp(out, flags);
}

/** Python's re.sub(pattern, "", text): every non-overlapping match removed. */
export function pythonRemoveAll(pattern: string, text: string): string {
  return text.replace(pythonRegex(pattern), '');
}
