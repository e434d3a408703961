// rank_pattern and alpha_pattern keys are regular expressions from the file, which the JavaScript engine
// matches by backtracking against every targeted module's name, and nothing can interrupt a match. A key whose
// backtracking can explode is refused before it is run:
//   - a group repeated by a quantifier while it holds a quantifier or an alternation ((a+)+, (.*)*, (a|a)*,
//     (a?){30}): the ways to split a name multiply with its length, exponentially;
//   - a back-reference (\1, \k<name>): matching one is not bounded by a polynomial at all;
//   - more than MAX_KEY_REPEATS variable quantifiers (.*, \d+, a{1,5}, a?): each multiplies the steps by up
//     to the name's length (on a 60-character name, Node 20 fails .*.*x in 13 us, .*.*.*x in 340 us and
//     .*.*.*.*x in 3.4 ms).
// The quantifiers of all keys of a field together are capped too (MAX_FIELD_REPEATS), so matching every key
// against a thousand modules stays well under a second. Real keys are module names ("q_proj",
// "model.layers.0.self_attn.q_proj") or hold a `.*` or a `\d+`.

export const MAX_KEY_REPEATS = 2;
export const MAX_FIELD_REPEATS = 32;

interface Group {
  /** Holds a quantifier or an alternation (directly or in a nested group). */
  varies: boolean;
  /** Where it starts in the key, for the message. */
  start: number;
}

interface Quantifier {
  min: number;
  max: number;
  /** Index of its last character. */
  end: number;
}

function quantifierAt(key: string, i: number): Quantifier | undefined {
  const c = key[i];
  if (c === '*') return { min: 0, max: Infinity, end: i };
  if (c === '+') return { min: 1, max: Infinity, end: i };
  if (c === '?') return { min: 0, max: 1, end: i };
  if (c !== '{') return undefined;
  // Anything else after "{" is a literal brace, as JavaScript reads it outside unicode mode.
  const m = /^\{(\d+)(,(\d*))?\}/.exec(key.slice(i, i + 32));
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
  return { min, max, end: i + m[0].length - 1 };
}

/** Index of the "]" that ends the character class opened at `i`. */
function classEnd(key: string, i: number): number {
  for (let j = i + 1; j < key.length; j++) {
    if (key[j] === '\\') j++;
    else if (key[j] === ']') return j;
  }
  return key.length;
}

/** Index of the last character of a group's opening: "(", "(?:", "(?=", "(?<!", "(?<name>". */
function groupOpeningEnd(key: string, i: number): number {
  if (key[i + 1] !== '?') return i;
  if (':=!'.includes(key[i + 2])) return i + 2;
  if (key[i + 2] === '<' && '=!'.includes(key[i + 3])) return i + 3;
  const close = key.indexOf('>', i);
  return close < 0 ? i : close;
}

export interface KeyCost {
  /** Variable quantifiers in the key. */
  repeats: number;
  /** Why the key is refused, if it is. */
  hazard?: string;
}

/** The backtracking risk of a pattern key: a valid JavaScript regular expression on its own (balanced groups). */
export function patternKeyCost(key: string): KeyCost {
  const groups: Group[] = [{ varies: false, start: 0 }];
  /** What a quantifier at the current position repeats: nothing, a single atom, or the group just closed. */
  let last: 'none' | 'atom' | Group = 'none';
  let repeats = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    const top = groups[groups.length - 1];
    if (c === '\\') {
      if (/[1-9k]/.test(key[i + 1] ?? '')) return { repeats, hazard: `has a back-reference ("${key.slice(i, i + 2)}")` };
      i++;
      last = 'atom';
    } else if (c === '[') {
      i = classEnd(key, i);
      last = 'atom';
    } else if (c === '(') {
      groups.push({ varies: false, start: i });
      i = groupOpeningEnd(key, i);
      last = 'none';
    } else if (c === ')') {
      const closed = groups.pop()!;
      if (closed.varies) groups[groups.length - 1].varies = true;
      last = closed;
    } else if (c === '|') {
      top.varies = true;
      last = 'none';
    } else {
      const q = quantifierAt(key, i);
      if (!q) {
        last = 'atom';
        continue;
      }
      if (q.max > 1 && typeof last === 'object' && last.varies) {
        const group = key.slice(last.start, q.end + 1);
        return { repeats, hazard: `repeats a group that itself repeats or alternates ("${group}"), which can take exponential time to match` };
      }
      top.varies = true;
      if (q.max > q.min) repeats++;
      i = q.end + (key[q.end + 1] === '?' ? 1 : 0);
      last = 'none';
    }
  }
  if (repeats > MAX_KEY_REPEATS) {
    return { repeats, hazard: `has ${repeats} variable quantifiers (at most ${MAX_KEY_REPEATS}: each multiplies the time to match a module name by up to its length)` };
  }
  return { repeats };
}
