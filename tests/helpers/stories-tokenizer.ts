// stories260K's tokenizer files (read at run time from ../shared, never copied), with optional edits to
// tokenizer_config.json, for the tokenizer, chat-template and generation tests.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from '../../src/engine/model/config';
import { ModelTokenizer, type TokenizerSources } from '../../src/engine/model/tokenizer';
import { STORIES260K_DIR } from './tiny-models';

type Json = Record<string, unknown>;

function readJson(name: string): Json {
  return JSON.parse(readFileSync(join(STORIES260K_DIR, name), 'utf8')) as Json;
}

/** The tokenizer-related files of stories260K; `tokenizerConfig` entries replace the file's. */
export function storiesFiles(edits: { tokenizerConfig?: Json; generationConfig?: Json | null; config?: Json } = {}): TokenizerSources {
  return {
    source: STORIES260K_DIR,
    config: parseModelConfig({ ...readJson('config.json'), ...edits.config }),
    tokenizer: readJson('tokenizer.json'),
    tokenizerConfig: { ...readJson('tokenizer_config.json'), ...edits.tokenizerConfig },
    generationConfig: edits.generationConfig === null ? undefined : { ...readJson('generation_config.json'), ...edits.generationConfig },
  };
}

export function storiesTokenizer(edits: Parameters<typeof storiesFiles>[0] = {}): ModelTokenizer {
  return new ModelTokenizer(storiesFiles(edits));
}

/** stories260K's BOS and EOS ids (config.json). */
export const STORIES_BOS = 1;
export const STORIES_EOS = 2;
