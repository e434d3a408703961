// The regular expressions of a tokenizer.json (Split pre-tokenizers, Replace normalizers, pre-tokenizers and
// decoders), tried when the tokenizer is loaded on texts that make a backtracking pattern blow up, and refused
// past a time limit. @huggingface/tokenizers runs them as JavaScript RegExps over whole texts; a pattern such
// as (a+)+$ takes seconds on 30 characters and hours on 50, and a running RegExp cannot be interrupted in its
// own thread, so a dataset line with such a run would hang the worker (or the CLI) for good.
//
// Why a probe at load and not a watchdog at each encode: a watchdog needs tokenization in another thread, and
// every encode in the engine is synchronous (a browser worker cannot wait for another one without shared
// memory, which needs cross-origin isolation the studio does not have). Nor is a static check enough: which
// nested quantifiers blow up depends on what their parts can match. So each pattern is run on runs of one
// character (every character its source names, and one of each common class) followed by another, with the
// run growing one character at a time while it is short, then by a quarter up to 2,048: a probe stops at the
// first run slower than the limit, which costs at most a few times that limit even for a pattern whose time
// doubles with each character. A pattern can blow up only on inputs of another shape (pumped strings of
// several characters); those are not tried.

import {
  ReplaceDecoder,
  ReplaceNormalizer,
  ReplacePreTokenizer,
  SequenceDecoder,
  SequenceNormalizer,
  SequencePreTokenizer,
  SplitPreTokenizer,
  type Tokenizer,
} from '@huggingface/tokenizers';
import { ModelFormatError } from './errors';

/** A probe run slower than this refuses the pattern. */
export const PATTERN_PROBE_LIMIT_MS = 50;
/** Runs grow one character at a time up to this length, then by a quarter... */
const STEP_BY_ONE_UP_TO = 64;
/** ...up to this length. */
const LONGEST_PROBE = 2048;
/** One character of each class tokenizer patterns name: letters, digits, spaces, newlines, punctuation, CJK. */
const COMMON_CHARACTERS = ['a', 'A', '1', ' ', '\n', '\t', '.', "'", '_', 'é', '中'];
/** What follows a run: nothing, or a character of another class (most patterns fail on one of these). */
const ENDINGS = ['', '!', 'a', '1', ' ', '\n', '\u0000'];

interface PatternSite {
  /** Where in tokenizer.json, e.g. pre_tokenizer.pretokenizers[0] (Split). */
  where: string;
  source: string;
  regex: RegExp;
}

type Component = { pattern?: RegExp | null; config?: { type?: string; pattern?: { Regex?: string } } } | null | undefined;

function site(component: Component, where: string): PatternSite[] {
  const source = component?.config?.pattern?.Regex;
  if (!(component?.pattern instanceof RegExp) || typeof source !== 'string') return [];
  return [{ where: `${where} (${component.config?.type ?? 'pattern'})`, source, regex: component.pattern }];
}

/** Every user-written regex the tokenizer runs, with where it sits in tokenizer.json. */
function patternSites(tokenizer: Tokenizer): PatternSite[] {
  const sites: PatternSite[] = [];
  const { normalizer, pre_tokenizer: preTokenizer, decoder } = tokenizer;
  if (normalizer instanceof SequenceNormalizer) normalizer.normalizers.forEach((n, i) => sites.push(...site(n as Component, `normalizer.normalizers[${i}]`)));
  else if (normalizer instanceof ReplaceNormalizer) sites.push(...site(normalizer, 'normalizer'));
  if (preTokenizer instanceof SequencePreTokenizer) {
    preTokenizer.tokenizers.forEach((p, i) => sites.push(...site(p as Component, `pre_tokenizer.pretokenizers[${i}]`)));
  } else if (preTokenizer instanceof SplitPreTokenizer || preTokenizer instanceof ReplacePreTokenizer) sites.push(...site(preTokenizer, 'pre_tokenizer'));
  if (decoder instanceof SequenceDecoder) decoder.decoders.forEach((d, i) => sites.push(...site(d as Component, `decoder.decoders[${i}]`)));
  else if (decoder instanceof ReplaceDecoder) sites.push(...site(decoder, 'decoder'));
  return sites;
}

/** The characters to repeat: each literal character of the source (escapes skipped), then the common ones. */
function runCharacters(source: string): string[] {
  const literal = source.replace(/\\[pP]\{[^}]*\}|\\u\{?[0-9a-fA-F]+\}?|\\x[0-9a-fA-F]{2}|\\./g, '').replace(/[()[\]{}|*+?^$.\\,:=!<>-]/g, '');
  return [...new Set([...literal, ...COMMON_CHARACTERS])].slice(0, 24);
}

const now = (): number => globalThis.performance.now();

/** The first probe slower than the limit, or undefined. */
function slowestProbe(regex: RegExp): { text: string; ms: number } | undefined {
  const probe = new RegExp(regex.source, regex.flags.includes('g') ? regex.flags : `${regex.flags}g`);
  for (const char of runCharacters(regex.source)) {
    for (const ending of ENDINGS) {
      if (ending === char) continue;
      for (let n = 1; n <= LONGEST_PROBE; n = n < STEP_BY_ONE_UP_TO ? n + 1 : Math.ceil(n * 1.25)) {
        const text = char.repeat(n) + ending;
        const start = now();
        text.match(probe);
        const ms = now() - start;
        if (ms > PATTERN_PROBE_LIMIT_MS) return { text, ms };
      }
    }
  }
  return undefined;
}

/** Verdicts by pattern, so a tokenizer loaded again (or another with the same pattern) is not probed again. */
const verdicts = new Map<string, { text: string; ms: number } | null>();

const shown = (text: string): string => JSON.stringify(text.length > 24 ? `${text.slice(0, 12)}…${text.slice(-4)}` : text);

/** Throws a ModelFormatError naming tokenizer.json and the pattern when one of its regexes backtracks catastrophically. */
export function refuseRunawayPatterns(tokenizer: Tokenizer): void {
  for (const { where, source, regex } of patternSites(tokenizer)) {
    const key = `${regex.flags}/${regex.source}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) verdicts.set(key, (verdict = slowestProbe(regex) ?? null));
    if (verdict === null) continue;
    throw new ModelFormatError(
      'tokenizer.json',
      `${where} pattern ${JSON.stringify(source)} backtracks catastrophically: matching it on ${shown(verdict.text)} ` +
        `(${verdict.text.length} characters) took ${Math.round(verdict.ms)} ms, over the ${PATTERN_PROBE_LIMIT_MS} ms limit for one probe; ` +
        `a line with a longer run like it could hang tokenization for hours, so this tokenizer is refused`,
    );
  }
}
