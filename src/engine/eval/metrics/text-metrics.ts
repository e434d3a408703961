// Generation metrics on one output against one reference, each 0 or 1 per item (their suite value is the
// mean, with mean_stderr).
// Normalisation for exact match and contains is SQuAD v1.1's normalize_answer, as HF evaluate's squad
// metric and lm-evaluation-harness's tasks use it (e.g. lm_eval/tasks/longbench/metrics.py normalize_answer):
// lower-case, drop ASCII punctuation (Python's string.punctuation), replace the words a / an / the with a
// space, then collapse whitespace runs to single spaces and trim.

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
// Python's \b in a str pattern is Unicode-aware: a word character is a letter, a digit or "_".
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

export function normalizeAnswer(text: string): string {
  const lowered = text.toLowerCase();
  const noPunctuation = lowered.replace(PUNCTUATION, '');
  const noArticles = noPunctuation.replace(ARTICLES, ' ');
  return noArticles.split(/\s+/).filter((w) => w !== '').join(' ');
}

/** 1 when output and reference are equal after normalizeAnswer. */
export function exactMatch(output: string, reference: string): number {
  return normalizeAnswer(output) === normalizeAnswer(reference) ? 1 : 0;
}

/**
 * 1 when the normalised reference occurs in the normalised output as whole words ("4" is not in "42"),
 * 0 for an empty reference.
 */
export function containsReference(output: string, reference: string): number {
  const needle = normalizeAnswer(reference);
  if (needle === '') return 0;
  return ` ${normalizeAnswer(output)} `.includes(` ${needle} `) ? 1 : 0;
}

/** A user's format check: compiled once, with a clear error for a bad pattern. */
export function compileUserRegex(pattern: string, flags = ''): RegExp {
  try {
    return new RegExp(pattern, flags.replace('g', '').replace('y', ''));
  } catch (err) {
    throw new Error(`regex /${pattern}/${flags} is not valid: ${(err as Error).message}`);
  }
}

/** 1 when the output matches the regex anywhere. */
export function regexMatch(output: string, regex: RegExp): number {
  return regex.test(output) ? 1 : 0;
}

/** Fraction of outputs that match (the "regex match rate"). */
export function regexMatchRate(outputs: readonly string[], regex: RegExp): number {
  if (outputs.length === 0) throw new Error('regex match rate of no outputs');
  return outputs.filter((o) => regexMatch(o, regex) === 1).length / outputs.length;
}
