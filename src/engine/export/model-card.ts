// The README.md (model card) of an exported model: Hugging Face's YAML front matter (base_model, license,
// library_name, tags, pipeline_tag as the Hub's model-card metadata defines them) and what a reader needs to
// reproduce or judge the model: the base, the data, the method and its settings, the evaluation results.

export interface CardEvaluation {
  /** e.g. "arc_easy acc" or "held-out loss". */
  name: string;
  base?: number;
  tuned: number;
}

export interface ModelCardInfo {
  /** The base model's id (Hub id or folder name). */
  baseModel: string;
  /** SPDX-style id from the base's card ("mit", "apache-2.0"), when known. */
  license?: string;
  /** What was merged in; absent for a plain re-export of the base. */
  training?: {
    method: string;
    adapterName: string;
    datasetName?: string;
    /** Training examples. */
    datasetSize?: number;
    hyperparameters: Record<string, string | number | boolean>;
  };
  evaluation?: CardEvaluation[];
  /** What this folder holds, e.g. "merged weights (safetensors, f16)". */
  contents: string;
}

/** Held-out metrics worth a line in the card, in this order (GRPO's eval_loss is ~0 by construction: left out). */
const CARD_METRICS = ['eval_loss', 'eval_reward', 'eval_rewards/accuracies', 'eval_rewards/margins'];

/** One evaluation of a run: its step and metrics under TRL's names ("eval_loss", "eval_reward", ...). */
export type EvalRow = { step: number } & Record<string, number | undefined>;

/** The card's evaluation lines: the run's first and last evaluations (base = the first when it was at step 0). */
export function cardEvaluations(rows: readonly EvalRow[], method: string): CardEvaluation[] {
  const scored = rows.filter((r) => CARD_METRICS.some((k) => typeof r[k] === 'number'));
  if (scored.length === 0) return [];
  const first = scored[0];
  const last = scored[scored.length - 1];
  return CARD_METRICS.filter((k) => typeof last[k] === 'number' && !(method === 'grpo' && k === 'eval_loss')).map((k) => ({
    name: `${k} (step ${first.step} → ${last.step})`,
    base: first.step === 0 ? first[k] : undefined,
    tuned: last[k]!,
  }));
}

/** The `license:` value of a model card's YAML front matter, if it has one. */
export function licenseFromCard(readme: string): string | undefined {
  const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(readme);
  const line = front?.[1].split(/\r?\n/).find((l) => /^license\s*:/.test(l));
  const value = line?.replace(/^license\s*:\s*/, '').replace(/^["']|["']$/g, '').trim();
  return value || undefined;
}

const yamlString = (s: string) => JSON.stringify(s);
const cell = (v: number | undefined) => (v === undefined ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(4));

export function modelCard(info: ModelCardInfo): string {
  const t = info.training;
  const front = [
    '---',
    `base_model: ${yamlString(info.baseModel)}`,
    `license: ${info.license ? yamlString(info.license) : 'other'}`,
    'library_name: transformers',
    'pipeline_tag: text-generation',
    `tags: [${['tunelab', ...(t ? ['lora', t.method] : [])].map(yamlString).join(', ')}]`,
    '---',
  ];
  const lines = [...front, '', `# ${t ? `${info.baseModel} + ${t.adapterName}` : info.baseModel}`, ''];
  lines.push(`This folder holds ${info.contents}, exported by Tunelab.`);
  lines.push(
    t
      ? `It is \`${info.baseModel}\` with the LoRA adapter "${t.adapterName}" merged into its weights (W + scale · B · A), so it runs without PEFT.`
      : `It is \`${info.baseModel}\` as it was loaded, without an adapter.`,
  );
  lines.push('', '## Licence', '');
  lines.push(
    info.license
      ? `The base model is released under \`${info.license}\`; this derivative keeps the base model's licence terms.`
      : "The base model's card names no licence here: check the base model's terms before you share this model.",
  );
  if (t) {
    lines.push('', '## Training', '', `- Method: ${t.method.toUpperCase()} with LoRA`);
    if (t.datasetName) lines.push(`- Data: ${t.datasetName}${t.datasetSize !== undefined ? ` (${t.datasetSize} training examples)` : ''}`);
    lines.push('', '| hyperparameter | value |', '| --- | --- |');
    for (const [k, v] of Object.entries(t.hyperparameters)) lines.push(`| ${k} | ${String(v)} |`);
  }
  if (info.evaluation?.length) {
    lines.push('', '## Evaluation', '', '| metric | base | tuned |', '| --- | --- | --- |');
    for (const e of info.evaluation) lines.push(`| ${e.name} | ${cell(e.base)} | ${cell(e.tuned)} |`);
  }
  return `${lines.join('\n')}\n`;
}
