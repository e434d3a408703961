// A tiny random Llama judge that writes verdicts: a byte-level tokenizer with ChatML and FastChat's verdict
// strings ("[[A]]", "[[B]]", "[[C]]", "[[7]]", "[[3]]", "[[12]]") as added tokens, and an LM head whose rows
// for those tokens and for <|im_end|> are scaled up, so greedy decoding emits a prompt-dependent mix of
// verdicts, conflicting verdicts and none. A real model folder (config.json, safetensors, tokenizer files,
// chat template): the engine and the CLI load it as any other.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { byteLevelTokenizerJson } from '../../src/engine/demo/byte-level-tokenizer-json';
import { byteSymbols } from '../../src/engine/demo/byte-level-merges';
import { writeSafetensors } from '../../src/engine/model/safetensors';
import { writeTinyModel } from './tiny-models';

export const VERDICT_TOKENS = ['[[A]]', '[[B]]', '[[C]]', '[[7]]', '[[3]]', '[[12]]'] as const;
const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface VerdictJudgeModel {
  dir: string;
  /** Token id of each verdict string and of <|im_end|>. */
  ids: Record<string, number>;
}

/** Writes the judge into `dir`; `boost` scales the verdict and end-of-turn rows of the LM head. */
export async function writeVerdictJudgeModel(dir: string, options: { seed?: number; boost?: number; maxPositions?: number } = {}): Promise<VerdictJudgeModel> {
  const vocab: Record<string, number> = {};
  byteSymbols().forEach((c, b) => (vocab[c] = b));
  const added = [...SPECIALS, ...VERDICT_TOKENS];
  const ids = Object.fromEntries(added.map((t, i) => [t, 256 + i]));
  const tokenizer = byteLevelTokenizerJson(vocab, [], SPECIALS.map((content) => ({ id: ids[content], content })));
  // The verdicts are ordinary added tokens: matched whole before pre-tokenization, kept in decoded text.
  (tokenizer.added_tokens as unknown[]).push(
    ...VERDICT_TOKENS.map((content) => ({ id: ids[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false })),
  );
  const vocabSize = 256 + added.length;
  const tiny = await writeTinyModel(dir, 'llama', { seed: options.seed ?? 3, sizes: { vocabSize, maxPositions: options.maxPositions ?? 4096 } });

  const head = tiny.tensors['lm_head.weight'];
  const C = head.shape[1];
  const data = Array.from(head.data);
  const boost = options.boost ?? 4;
  for (const token of [...VERDICT_TOKENS, '<|im_end|>']) {
    // The out-of-scale rating less than the rest, so that it does not crowd out every other verdict.
    const factor = token === '[[12]]' ? Math.sqrt(boost) : boost;
    for (let c = 0; c < C; c++) data[ids[token] * C + c] *= factor;
  }
  tiny.tensors['lm_head.weight'] = { ...head, data };
  await writeFile(join(dir, 'model.safetensors'), writeSafetensors(tiny.tensors, { format: 'pt' }));
  const eos = ids['<|im_end|>'];
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...tiny.config, bos_token_id: null, eos_token_id: eos }, null, 2));
  await writeFile(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: eos }));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ chat_template: CHATML_TEMPLATE, eos_token: '<|im_end|>', bos_token: null, pad_token: '<|endoftext|>', add_bos_token: false, model_max_length: options.maxPositions ?? 4096 }),
  );
  return { dir, ids };
}
