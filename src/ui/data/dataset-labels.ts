// How the Data page names a dataset: its format as a student reads it, the training methods it fits (those
// the studio trains, then those still to come), and its records (examples, preference pairs, or prompts).
// "Preference pairs (prompt, chosen, rejected): fits DPO, SimPO and ORPO"; "Prompt-completion: fits SFT and
// GRPO"; GSM8K's "Question-answer (question, answer): fits GRPO"; "Unpaired preference (...): fits KTO, coming".

import { METHOD_NAMES, methodsForFormat, type DatasetFormat, type TrainingMethod } from '../../engine/data/formats';
import { STUDIO_METHODS } from '../../worker/dataset-records';
import type { DatasetDraft } from '../../worker/protocol-datasets';
import { formatCount } from '../format';

const FORMAT_LABELS: Record<DatasetFormat, string> = {
  'language-modeling': 'Language modeling (text or messages)',
  'prompt-completion': 'Prompt-completion',
  'pre-tokenized': 'Pre-tokenized (input_ids)',
  alpaca: 'Alpaca (instruction, input, output)',
  sharegpt: 'ShareGPT conversations',
  preference: 'Preference pairs (prompt, chosen, rejected)',
  'pre-tokenized-preference': 'Pre-tokenized preference pairs (prompt, chosen and rejected ids)',
  'alpaca-preference': 'Alpaca preference pairs (instruction, input, chosen, rejected)',
  'sharegpt-preference': 'ShareGPT preference pairs (conversations, chosen, rejected)',
  'llamafactory-v1-preference': 'LLaMA-Factory v1 preference pairs (chosen and rejected messages)',
  'unpaired-preference': 'Unpaired preference (prompt, completion, label)',
  'prompt-only': 'Prompt-only (prompt)',
  'question-answer': 'Question-answer (question, answer)',
};

const isFormat = (format: string): format is DatasetFormat => Object.hasOwn(FORMAT_LABELS, format);
const names = (methods: readonly TrainingMethod[]) => methods.map((m) => METHOD_NAMES[m]).join(' and ');

/** "fits SFT and GRPO"; "fits KTO, coming". */
export function fitsText(methods: readonly TrainingMethod[]): string {
  const trained = methods.filter((m) => (STUDIO_METHODS as readonly TrainingMethod[]).includes(m));
  const coming = methods.filter((m) => !trained.includes(m));
  if (trained.length === 0) return `fits ${names(coming)}, coming`;
  return `fits ${names(trained)}${coming.length > 0 ? ` (and ${names(coming)}, coming)` : ''}`;
}

/** "Prompt-completion"; a name this version does not know is shown as stored. */
export function formatLabel(format: string): string {
  return isFormat(format) ? FORMAT_LABELS[format] : format;
}

/** The format and the methods it fits, from a saved dataset's format name. */
export function formatFit(format: string): string {
  return isFormat(format) ? `${FORMAT_LABELS[format]}: ${fitsText(methodsForFormat(format))}` : format;
}

const RECORD_NOUNS: Record<DatasetDraft['method'], string> = { sft: 'example', dpo: 'pair', grpo: 'prompt' };

/** What one record of a family is called: "example", "pair", "prompt". */
export function recordNoun(method: DatasetDraft['method']): string {
  return RECORD_NOUNS[method];
}

/** "468 pairs", "1 example", "240 prompts". */
export function recordCount(method: DatasetDraft['method'], count: number): string {
  return `${count} ${recordNoun(method)}${count === 1 ? '' : 's'}`;
}

/** Above a list of bad lines that holds only the first of them: "first 100 of 1,000,000 errors". */
export function keptErrorsText(kept: number, total: number): string {
  return `first ${formatCount(kept)} of ${formatCount(total)} errors`;
}
