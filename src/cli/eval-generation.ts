// `tunelab eval`'s generation part: greedy continuations of each example's prompt (prompt-completion data,
// or a preference pair's prompt with its chosen answer as the reference), their exact-match rate and the
// rate at which they match --regex (against the generation, or the prompt followed by it).

import type { PreferenceExample } from '../engine/data/preference-examples';
import type { SftExample } from '../engine/data/sft-examples';
import { ChatTemplate } from '../engine/model/chat-template';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { EvalArgs } from './options/eval';
import type { Progress } from './progress';
import type { TrainingSession } from './train-session';

export interface GenerationCase {
  prompt: string;
  promptIds: number[];
  reference: string;
  referenceTokens: number;
}

function textCase(prompt: string, reference: string, tokenizer: ModelTokenizer): GenerationCase {
  return { prompt, promptIds: tokenizer.encode(prompt), reference, referenceTokens: tokenizer.encode(reference, { addSpecialTokens: false }).length };
}

function chatCase(prompt: string, reference: string, tokenizer: ModelTokenizer): GenerationCase {
  return { prompt, promptIds: tokenizer.encode(prompt, { addSpecialTokens: false }), reference, referenceTokens: tokenizer.encode(reference, { addSpecialTokens: false }).length };
}

function caseOf(e: SftExample | PreferenceExample, tokenizer: ModelTokenizer, template: () => ChatTemplate): GenerationCase | undefined {
  if ('chosen' in e) {
    if (e.kind === 'text') return textCase(e.prompt, e.chosen, tokenizer);
    if (e.kind === 'chat') return chatCase(template().render(e.prompt, { addGenerationPrompt: true }), e.chosen.map((m) => m.content).join('\n'), tokenizer);
    return { prompt: tokenizer.decode(e.prompt), promptIds: [...e.prompt], reference: tokenizer.decode(e.chosen), referenceTokens: e.chosen.length };
  }
  if (e.kind === 'prompt-completion') return textCase(e.prompt, e.completion, tokenizer);
  if (e.kind === 'chat-prompt-completion') return chatCase(template().render(e.prompt, { addGenerationPrompt: true }), e.completion.map((m) => m.content).join('\n'), tokenizer);
  return undefined;
}

/** The examples that have a prompt to generate from (others are skipped). */
export function generationCases(examples: readonly (SftExample | PreferenceExample)[], tokenizer: ModelTokenizer): GenerationCase[] {
  let template: ChatTemplate | undefined;
  const chat = () => (template ??= new ChatTemplate(tokenizer.tokenizerConfig));
  return examples.map((e) => caseOf(e, tokenizer, chat)).filter((c): c is GenerationCase => c !== undefined);
}

/** Greedy generations in batches, then the rates and the first samples. */
export async function generationReport(args: EvalArgs, cases: readonly GenerationCase[], session: TrainingSession, progress: Progress): Promise<Record<string, unknown>> {
  const generations: string[] = [];
  for (let i = 0; i < cases.length; i += args.batchSize) {
    const chunk = cases.slice(i, i + args.batchSize);
    const maxNew = args.maxNewTokens ?? Math.max(...chunk.map((c) => c.referenceTokens)) + 16;
    generations.push(...(await session.samples(chunk.map((c) => c.promptIds), maxNew)));
    progress.line(`generated ${generations.length}/${cases.length}`);
  }
  const exact = cases.filter((c, i) => generations[i].trim() === c.reference.trim()).length;
  const report: Record<string, unknown> = { examples: cases.length, exact_match: exact / cases.length };
  if (args.regex) {
    const regex = args.regex;
    const matched = cases.filter((c, i) => regex.test(args.regexTarget === 'completion' ? generations[i] : c.prompt + generations[i])).length;
    report.regex = { pattern: regex.source, target: args.regexTarget, match_rate: matched / cases.length, matched };
  }
  report.samples = cases.slice(0, args.samples).map((c, i) => ({ prompt: c.prompt, reference: c.reference, generated: generations[i] }));
  return report;
}
