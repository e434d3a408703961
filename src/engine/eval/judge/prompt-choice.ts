// Which judge prompt judges which question, as FastChat's gen_judgment.py chooses: questions whose category
// needs a reference (NEED_REF_CATS in common.py: math, reasoning, coding, arena-hard-200) go to the
// reference-based prompt with the reference answer, the others to the general prompt; the single-turn and
// the multi-turn judgements each have their pair of prompts. FastChat refuses to start when a
// reference-based question has no reference answer (check_data); here such a question falls back to the
// general prompt, and each judgement records the prompt that judged it.
//
// Public API: NEED_REF_CATEGORIES, MT_BENCH_PROMPT_NAMES, mtBenchPromptChoice(prompts, mode, multiTurn),
//             promptForQuestion(choice, question, reference).

import { checkJudgePrompt, type JudgeMode, type JudgePrompt, type JudgeQuestion } from './records';
import { templateShape } from './template';

export const NEED_REF_CATEGORIES: readonly string[] = ['math', 'reasoning', 'coding', 'arena-hard-200'];

/** FastChat's judge prompts by mode and turn (gen_judgment.py make_judge_single / make_judge_pairwise). */
export const MT_BENCH_PROMPT_NAMES = {
  single: { single: { general: 'single-v1', reference: 'single-math-v1' }, multi: { general: 'single-v1-multi-turn', reference: 'single-math-v1-multi-turn' } },
  pairwise: { single: { general: 'pair-v2', reference: 'pair-math-v1' }, multi: { general: 'pair-v2-multi-turn', reference: 'pair-math-v1-multi-turn' } },
} as const;

/** The prompts one judgement uses: `general` for every question, `reference` for those that need one. */
export interface JudgePromptChoice {
  general: JudgePrompt;
  reference?: JudgePrompt;
}

/** FastChat's pair of prompts for a mode and a turn, looked up by name in `prompts`. */
export function mtBenchPromptChoice(prompts: readonly JudgePrompt[], mode: JudgeMode, multiTurn: boolean): JudgePromptChoice {
  const names = MT_BENCH_PROMPT_NAMES[mode][multiTurn ? 'multi' : 'single'];
  const byName = (name: string) => prompts.find((p) => p.name === name);
  const general = byName(names.general);
  if (!general) throw new Error(`the judge prompts have no "${names.general}" (FastChat's ${mode} prompt${multiTurn ? ' for the second turn' : ''}); they have: ${prompts.map((p) => p.name).join(', ') || 'none'}`);
  return { general, reference: byName(names.reference) };
}

/** Every prompt of a choice must be of the mode asked and agree on the turn it judges. */
export function checkPromptChoice(choice: JudgePromptChoice, mode: JudgeMode): { multiTurn: boolean } {
  const prompts = [choice.general, ...(choice.reference ? [choice.reference] : [])];
  for (const p of prompts) {
    if (p.type !== mode) throw new Error(`judge prompt "${p.name}" is ${p.type}, and this judgement is ${mode}`);
    const problems = checkJudgePrompt(p);
    if (problems.length > 0) throw new Error(`judge prompt "${p.name}": ${problems.join('; ')}`);
  }
  const shapes = prompts.map((p) => templateShape(p.type, p.promptTemplate));
  if (shapes.some((s) => s.multiTurn !== shapes[0].multiTurn)) throw new Error(`judge prompts "${prompts[0].name}" and "${prompts[1].name}" judge different turns`);
  if (choice.reference && !shapes[1].needsReference) throw new Error(`judge prompt "${choice.reference.name}" is offered for reference answers and never shows {ref_answer_1}`);
  return { multiTurn: shapes[0].multiTurn };
}

/** The reference prompt for a reference category when there is a reference answer, else the general one. */
export function promptForQuestion(choice: JudgePromptChoice, question: JudgeQuestion, reference: readonly string[] | undefined): { prompt: JudgePrompt; reference?: readonly string[] } {
  if (choice.reference && reference && NEED_REF_CATEGORIES.includes(question.category)) return { prompt: choice.reference, reference };
  // A general prompt that itself shows a reference gets one whenever the question has it.
  return templateShape(choice.general.type, choice.general.promptTemplate).needsReference ? { prompt: choice.general, reference } : { prompt: choice.general };
}
