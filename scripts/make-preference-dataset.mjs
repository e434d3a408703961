// Builds the sample preference task for stories260K from the SFT sample task (make-sample-dataset.mjs):
// prefer the story that opens in the setting the prompt names over the same story opening somewhere else.
//   {"prompt": "Setting: a foggy farm.\n",
//    "chosen": "Once upon a time, in a foggy farm, there was a big tree. ...",
//    "rejected": "Once upon a time, in a sunny island, there was a big tree. ..."}
// Each story of the SFT task was written by the base model after its own setting, so the base finds that
// opening more likely whatever the prompt says. To leave the prompt as the only signal, every other pair
// swaps the roles: the prompt names the other setting and the story's own opening is the rejected answer.
// The other setting shares one of the two words (the adjective in half the pairs, the place in the other
// half), so copying a word of the prompt does not give the answer away: the whole setting must match. The
// base model, which ignores the setting line when it writes, still finds the prompt's words a little more
// likely in a story (it copies from its context); these two choices keep its preference close to chance,
// and a model that reads the prompt prefers the chosen answer in all of them. The other setting is drawn
// from the same split (the held-out pairs' settings never occur in training). chosen.jsonl holds the chosen answers as
// prompt-completion records: the "SFT on the chosen answers, then DPO" recipe trains on it first.
//
//   node scripts/make-preference-dataset.mjs [--from public/datasets/stories-setting] [--out public/datasets/stories-preference]

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const from = resolve(flag('from', 'public/datasets/stories-setting'));
const out = resolve(flag('out', 'public/datasets/stories-preference'));

const PROMPT = /^Setting: (an? [a-z]+ [a-z]+)\.\n$/;
const OPENING = 'Once upon a time, in ';

/** mulberry32: the same choices on every machine. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readJsonl(file) {
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
}

/** Each record's setting and the story after its opening phrase. */
function parse(record, file) {
  const setting = PROMPT.exec(record.prompt)?.[1];
  const opening = `${OPENING}${setting},`;
  if (!setting || !record.completion.startsWith(opening)) throw new Error(`${file}: a record does not follow the sample task's template: ${JSON.stringify(record)}`);
  return { prompt: record.prompt, setting, rest: record.completion.slice(opening.length) };
}

/** Another setting of the split that shares the adjective (or, with `keepPlace`, the place) of `setting`. */
function neighbour(setting, settings, keepPlace, rand) {
  const [adjective, place] = words(setting);
  const candidates = settings.filter((s) => s !== setting && (keepPlace ? words(s)[1] === place : words(s)[0] === adjective));
  // A split without such a neighbour falls back to any other setting.
  const pool = candidates.length ? candidates : settings.filter((s) => s !== setting);
  return pool[Math.floor(rand() * pool.length)];
}

const words = (setting) => setting.split(' ').slice(1);

function pairs(file, seed) {
  const records = readJsonl(file).map((r) => parse(r, file));
  const settings = [...new Set(records.map((r) => r.setting))];
  const rand = random(seed);
  return records.map((r, i) => {
    // The other setting differs in one word: the place (half the pairs) or the adjective (the other half).
    const other = neighbour(r.setting, settings, i % 4 >= 2, rand);
    const [named, elsewhere] = i % 2 === 0 ? [r.setting, other] : [other, r.setting];
    return { prompt: `Setting: ${named}.\n`, chosen: `${OPENING}${named},${r.rest}`, rejected: `${OPENING}${elsewhere},${r.rest}` };
  });
}

const train = pairs(join(from, 'train.jsonl'), 7);
const evalPairs = pairs(join(from, 'eval.jsonl'), 8);
mkdirSync(out, { recursive: true });
const write = (name, list) => writeFileSync(join(out, name), list.map((r) => JSON.stringify(r)).join('\n') + '\n');
write('train.jsonl', train);
write('eval.jsonl', evalPairs);
write('chosen.jsonl', train.map((p) => ({ prompt: p.prompt, completion: p.chosen })));
console.error(`wrote ${train.length} training and ${evalPairs.length} held-out preference pairs, and the chosen answers as SFT records, to ${out}`);
