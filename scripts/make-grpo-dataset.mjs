// Builds the sample GRPO task for stories260K: the prompt names a character, and the story must name it too.
//   {"prompt": "This is a story about Sue the cat.\nOnce upon a time,", "name": "Sue", "animal": "cat"}
// The reward is a built-in, `contains={name}`: 1 when the completion (at most --max-completion-length tokens,
// the story's first sentence or two) contains the name, else 0. The base model mostly writes its own
// favourite names (Lily, Timmy), so its reward is low, but it copies a name from its context now and then,
// so a group of 8 completions often has one that scores, which is what GRPO learns from. Names are ones the
// base model writes from BOS and that are no part of a more frequent name (Tim is in Timmy, so it is out);
// Lily and Timmy are out because the base writes them anyway. Name x animal pairs are split: the held-out
// pairs never occur in training (every name and animal does). Each pair opens two ways.
//
//   node scripts/make-grpo-dataset.mjs [--out public/datasets/stories-grpo]
//   node scripts/make-grpo-dataset.mjs --measure-base [eval|train] [--model DIR] [--samples 8]
//        [--max-completion-length 32] [--seed 1]
// --measure-base samples completions of the split's prompts with the base model (`tunelab generate
// --backend cpu` at GRPOConfig's defaults: temperature 1, top-p 1, no top-k) and prints the mean reward,
// its standard error, and the share of groups whose rewards are all equal (TRL's frac_reward_zero_std).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shuffled } from './seeded-shuffle.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined && !args[i + 1].startsWith('--') ? args[i + 1] : fallback;
};
const out = resolve(flag('out', 'public/datasets/stories-grpo'));

const NAMES = ['Lucy', 'Amy', 'Sue', 'Mia', 'Emma', 'Sally', 'Jenny', 'Daisy', 'Polly', 'Alice', 'Jane', 'Rosie', 'Max', 'Tom', 'Jack', 'Billy', 'Fred', 'John', 'Jerry', 'Teddy'];
const ANIMALS = ['cat', 'dog', 'bird', 'bunny', 'bear', 'frog', 'duck', 'mouse'];
const OPENINGS = ['Once upon a time,', 'Once upon a time, there was'];
const EVAL_PAIRS = 40;
/** The reward, as `tunelab train --reward` spells it. */
const REWARD_SPEC = 'contains={name}';


const recordsOf = (pairs) =>
  pairs.flatMap(([name, animal]) => OPENINGS.map((opening) => ({ prompt: `This is a story about ${name} the ${animal}.\n${opening}`, name, animal })));

const pairs = shuffled(NAMES.flatMap((name) => ANIMALS.map((animal) => [name, animal])), 2026);
const splits = { eval: recordsOf(pairs.slice(0, EVAL_PAIRS)), train: recordsOf(pairs.slice(EVAL_PAIRS)) };

/** contains={name}, as the built-in reward computes it: a case-sensitive substring test. */
const reward = (completion, record) => (completion.includes(record.name) ? 1 : 0);

function generate(records, model, options) {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-grpo-'));
  try {
    const input = join(dir, 'prompts.jsonl');
    const output = join(dir, 'out.jsonl');
    writeFileSync(input, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cli = ['bin/tunelab.mjs', 'generate', '--model', model, '--backend', 'cpu', '--prompts-file', input, '--out', output, '--batch', '160', '--quiet'];
    // The CLI's top-k is at least 1; the whole vocabulary is the same as none.
    const vocabSize = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')).vocab_size;
    cli.push('--temperature', '1', '--top-p', '1', '--top-k', String(vocabSize), '--max-new-tokens', String(options.maxCompletionLength), '--seed', String(options.seed));
    const run = spawnSync(process.execPath, cli, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (run.status !== 0) throw new Error(`tunelab generate failed with status ${run.status}`);
    return readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measureBase(split) {
  const records = splits[split];
  if (!records) throw new Error(`--measure-base takes eval or train, got ${split}`);
  const model = resolve(flag('model', '../shared/assets/models/stories260K'));
  const samples = Number(flag('samples', '8'));
  const options = { maxCompletionLength: Number(flag('max-completion-length', '32')), seed: Number(flag('seed', '1')) };
  // Each prompt `samples` times in a row: one group of completions per prompt, as GRPO samples them.
  const rows = generate(records.flatMap((r) => Array.from({ length: samples }, () => r)), model, options);
  const rewards = rows.map((row) => reward(row.completion, row));
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const stderr = Math.sqrt((mean * (1 - mean)) / (rewards.length - 1));
  let flat = 0;
  for (let g = 0; g < records.length; g++) {
    const group = rewards.slice(g * samples, (g + 1) * samples);
    if (group.every((r) => r === group[0])) flat++;
  }
  const byOpening = OPENINGS.map((opening) => {
    const own = rewards.filter((_, i) => rows[i].prompt.endsWith(`\n${opening}`));
    return `"${opening}" ${(own.reduce((a, b) => a + b, 0) / own.length).toFixed(3)}`;
  });
  console.log(`base model, ${split} split: ${records.length} prompts x ${samples} completions of at most ${options.maxCompletionLength} tokens (seed ${options.seed})`);
  console.log(`reward ${REWARD_SPEC}: mean ${mean.toFixed(4)} (standard error ${stderr.toFixed(4)}); by opening: ${byOpening.join(', ')}`);
  console.log(`frac_reward_zero_std ${(flat / records.length).toFixed(3)} (${records.length - flat} of ${records.length} groups have a reward to learn from)`);
}

if (args.includes('--measure-base')) {
  measureBase(flag('measure-base', 'eval'));
} else {
  mkdirSync(out, { recursive: true });
  const write = (name, list) => writeFileSync(join(out, name), list.map((r) => JSON.stringify(r)).join('\n') + '\n');
  write('train.jsonl', splits.train);
  write('eval.jsonl', splits.eval);
  console.error(`wrote ${splits.train.length} training and ${splits.eval.length} held-out prompts to ${out} (reward: ${REWARD_SPEC})`);
}
