// Builds the sample task for stories260K: "Setting: a rainy forest." -> a story that opens in that setting
// ("Once upon a time, in a rainy forest, ..."), a behaviour the base model lacks (it ignores the line).
// Prompts come from templates; each story's continuation is the base model's own sampled text (through
// `tunelab generate --backend cpu`, exact and reproducible), cut at its last full sentence. Settings are
// adjective x place pairs; the evaluation pairs never occur in training. Also writes stories the base
// model generated from BOS, kept aside to measure forgetting (general perplexity).
//
//   node scripts/make-sample-dataset.mjs [--model DIR] [--out public/datasets/stories-setting]

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shuffled } from './seeded-shuffle.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const model = resolve(flag('model', '../shared/assets/models/stories260K'));
const out = resolve(flag('out', 'public/datasets/stories-setting'));

const ADJECTIVES = ['rainy', 'snowy', 'foggy', 'windy', 'sunny', 'quiet', 'busy', 'golden', 'frozen', 'hidden', 'sleepy', 'muddy', 'green', 'dark'];
const PLACES = ['forest', 'beach', 'village', 'garden', 'castle', 'farm', 'harbor', 'meadow', 'valley', 'island', 'library', 'bakery', 'zoo', 'cave'];
const TRAIN_VARIANTS = 3;
const EVAL_PAIRS = 40;
const GENERAL_STORIES = 40;


const article = (adjective) => (/^[aeiou]/.test(adjective) ? 'an' : 'a');
const settingOf = ([adjective, place]) => `${article(adjective)} ${adjective} ${place}`;
const promptOf = (setting) => `Setting: ${setting}.\n`;
const openingOf = (setting) => `Once upon a time, in ${setting},`;

/** The text up to and including its last sentence end, or undefined when it has none after the opening. */
function lastFullSentence(text) {
  const end = Math.max(text.lastIndexOf('.'), text.lastIndexOf('!'), text.lastIndexOf('?'));
  return end > 0 ? text.slice(0, end + 1) : undefined;
}

function tunelabGenerate(records, extra) {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-sample-'));
  try {
    const input = join(dir, 'prompts.jsonl');
    const output = join(dir, 'out.jsonl');
    writeFileSync(input, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cli = ['bin/tunelab.mjs', 'generate', '--model', model, '--backend', 'cpu', '--prompts-file', input, '--out', output, '--batch', '32', ...extra];
    const run = spawnSync(process.execPath, cli, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (run.status !== 0) throw new Error(`tunelab generate failed with status ${run.status}`);
    return readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pairs = shuffled(ADJECTIVES.flatMap((a) => PLACES.map((p) => [a, p])), 2026);
const evalPairs = pairs.slice(0, EVAL_PAIRS);
const trainPairs = pairs.slice(EVAL_PAIRS);

// Openings continued by the base model; several sampled variants per training setting.
const requests = [
  ...trainPairs.flatMap((pair) => Array.from({ length: TRAIN_VARIANTS }, () => ({ split: 'train', setting: settingOf(pair) }))),
  ...evalPairs.map((pair) => ({ split: 'eval', setting: settingOf(pair) })),
].map((r) => ({ ...r, prompt: openingOf(r.setting) }));
const continued = tunelabGenerate(requests, ['--max-new-tokens', '40', '--temperature', '0.8', '--top-p', '0.95', '--seed', '1']);

const rows = { train: [], eval: [] };
for (const r of continued) {
  const story = lastFullSentence(r.prompt + r.completion);
  if (!story || story.length <= r.prompt.length + 10) continue;
  rows[r.split].push({ prompt: promptOf(r.setting), completion: story });
}

// General stories from BOS alone, kept aside to measure forgetting.
const general = tunelabGenerate(
  Array.from({ length: GENERAL_STORIES }, () => ({ prompt: '' })),
  ['--max-new-tokens', '120', '--temperature', '0.8', '--top-p', '0.95', '--seed', '7'],
)
  .map((r) => lastFullSentence(r.completion))
  .filter(Boolean)
  .map((text) => ({ text }));

mkdirSync(out, { recursive: true });
const write = (name, list) => writeFileSync(join(out, name), list.map((r) => JSON.stringify(r)).join('\n') + '\n');
write('train.jsonl', rows.train);
write('eval.jsonl', rows.eval);
write('general.jsonl', general);
console.error(`wrote ${rows.train.length} training, ${rows.eval.length} evaluation and ${general.length} general records to ${out}`);
