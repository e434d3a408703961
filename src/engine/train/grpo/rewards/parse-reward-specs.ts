// The --reward syntax: comma-separated items, each `kind`, `kind=ARG` or the name of a reward module's
// export, with an optional trailing `:WEIGHT` (default 1, TRL's reward_weights), e.g.
//   answer-match,format:0.5,contains={name}:2,regex=^Once,length=60,json,my_reward:3
// A comma inside (), [] or {} does not split (so `regex=\d{1,3}` and `format=[\d,.]+` stay whole), nor does
// an escaped one (`\,`, which contains / not-contains read as a plain comma). An argument that itself ends in
// ":<number>" keeps it by adding a weight: `regex=a:2:1`.

import { compileBuiltinReward } from './builtin-rewards';
import { BUILTIN_REWARD_KINDS, RewardSpecError, type BuiltinRewardKind, type RewardSpec } from './reward-types';

const WEIGHT_SUFFIX = /:\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*$/i;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Splits at commas outside brackets and not escaped; escapes stay in the pieces. */
export function splitRewardItems(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  /** A comma inside brackets: a separator if the brackets are never closed. */
  let nestedComma = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') i++;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if ((ch === ')' || ch === ']' || ch === '}') && depth > 0) {
      depth--;
      if (depth === 0) nestedComma = false;
    }
    else if (ch === ',' && depth > 0) nestedComma = true;
    else if (ch === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  // An unclosed bracket would have swallowed the items after it (alone in its item, that item's own parse names it).
  if (depth > 0 && nestedComma) throw new RewardSpecError(`--reward "${text}": an opening bracket is never closed, so the items after it cannot be told apart (escape a plain one as \\( or close it)`);
  return items;
}

const isBuiltin = (kind: string): kind is BuiltinRewardKind => (BUILTIN_REWARD_KINDS as readonly string[]).includes(kind);

/** A name not yet taken: the kind, then kind_2, kind_3, ... */
export function uniqueRewardName(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}_${n}`)) return `${base}_${n}`;
}

function parseItem(raw: string, position: number, taken: Set<string>): RewardSpec {
  const where = `--reward item ${position} "${raw.trim()}"`;
  let body = raw.trim();
  let weight = 1;
  const suffix = WEIGHT_SUFFIX.exec(body);
  if (suffix) {
    weight = Number(suffix[1]);
    body = body.slice(0, suffix.index).trim();
  } else if (/:\s*[^:]*$/.test(body) && !body.includes('=')) {
    throw new RewardSpecError(`${where}: the weight after ":" must be a number`);
  }
  if (!Number.isFinite(weight)) throw new RewardSpecError(`${where}: the weight must be a finite number`);
  if (body === '') throw new RewardSpecError(`${where}: empty item (write a reward such as answer-match or format:0.5)`);
  const eq = body.indexOf('=');
  const kind = (eq < 0 ? body : body.slice(0, eq)).trim();
  let arg = eq < 0 ? undefined : body.slice(eq + 1);
  if (isBuiltin(kind)) {
    if (arg !== undefined && (kind === 'contains' || kind === 'not-contains')) arg = arg.replace(/\\,/g, ',');
    try {
      compileBuiltinReward(kind, arg);
    } catch (err) {
      throw new RewardSpecError(`${where}: ${(err as Error).message}`);
    }
    const name = uniqueRewardName(kind, taken);
    taken.add(name);
    return arg === undefined ? { kind, weight, name } : { kind, weight, arg, name };
  }
  if (kind === 'custom') {
    throw new RewardSpecError(`${where}: custom rewards come from a reward module (--reward-module FILE); list one by its export's name`);
  }
  if (eq < 0 && IDENTIFIER.test(kind)) {
    // A reward module's export, given a weight here; createRewardSet checks that a module exports it.
    if (taken.has(kind)) throw new RewardSpecError(`${where}: "${kind}" is listed twice`);
    taken.add(kind);
    return { kind: 'custom', weight, name: kind };
  }
  throw new RewardSpecError(`${where}: unknown reward "${kind}"; the built-in rewards are ${BUILTIN_REWARD_KINDS.join(', ')}, and a reward module's export is named by its identifier`);
}

/** Parses the --reward text; each error names the bad item. */
export function parseRewardSpecs(text: string): RewardSpec[] {
  if (text.trim() === '') throw new RewardSpecError(`--reward is empty: list rewards such as answer-match,format:0.5`);
  const taken = new Set<string>();
  return splitRewardItems(text).map((item, i) => parseItem(item, i + 1, taken));
}
