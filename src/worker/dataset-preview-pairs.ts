// Preference pairs rendered for a model, token by token: each pair goes through the engine's own
// tokenizePreferenceDataset (the shared prompt, each answer after it with EOS, TRL's truncation), so the page
// shows exactly the ids training uses. The prompt is context; every answer token is trained (the preference
// loss sums their log-probabilities). A pair training would drop says why, in place.

import type { PreferenceDataset, PreferenceRecord } from '../engine/data/preference-examples';
import { DEFAULT_MAX_PROMPT_LENGTH, tokenizePreferenceDataset, type TokenizedPair } from '../engine/data/tokenize-preference';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import { previewError, requireChatTemplate, tokenPieces } from './dataset-preview';
import type { PairPreview, PreviewToken } from './protocol-datasets';

/** The previews use training's default prompt limit: the Data page has no setting of its own for it. */
export const PREVIEW_MAX_PROMPT_LENGTH = DEFAULT_MAX_PROMPT_LENGTH;

function tokens(ids: readonly number[], pieces: readonly string[], trained: boolean): PreviewToken[] {
  return ids.map((id, t) => ({ id, text: pieces[t], trained }));
}

/** A pair's three strips; each answer's pieces are read after the prompt, so their first space shows. */
function pairTokens(tokenizer: ModelTokenizer, pair: TokenizedPair): Pick<PairPreview, 'prompt' | 'chosen' | 'rejected'> {
  const n = pair.prompt.length;
  // A token's piece depends only on the tokens before it, so the prompt's pieces are the same in both.
  const chosenPieces = tokenPieces(tokenizer, [...pair.prompt, ...pair.chosen]);
  const rejectedPieces = tokenPieces(tokenizer, [...pair.prompt, ...pair.rejected]);
  return {
    prompt: tokens(pair.prompt, chosenPieces.slice(0, n), false),
    chosen: tokens(pair.chosen, chosenPieces.slice(n), true),
    rejected: tokens(pair.rejected, rejectedPieces.slice(n), true),
  };
}

function unusable(line: number, error: string): PairPreview {
  return { line, prompt: [], chosen: [], rejected: [], truncated: false, promptTruncated: false, error };
}

/** One pair tokenized alone, as tokenizePreferenceDataset treats it within its dataset. */
function previewPair(record: PreferenceRecord, format: PreferenceDataset['format'], tokenizer: ModelTokenizer, maxLength: number): PairPreview {
  const dataset: PreferenceDataset = { file: 'preview', format, examples: [record], errors: [], errorCount: 0, identical: 0 };
  let result: ReturnType<typeof tokenizePreferenceDataset>;
  try {
    result = tokenizePreferenceDataset(dataset, tokenizer, { maxLength, maxPromptLength: PREVIEW_MAX_PROMPT_LENGTH });
  } catch (err) {
    return unusable(record.line, previewError(err));
  }
  const [pair] = result.pairs;
  if (!pair) {
    const why = result.errors[0]?.message;
    return unusable(record.line, why ?? `has the same chosen and rejected tokens within the maximum length of ${maxLength} tokens, so training skips it`);
  }
  return { line: record.line, ...pairTokens(tokenizer, pair), truncated: result.truncated > 0, promptTruncated: result.promptTruncated > 0 };
}

/**
 * Renders preference `records` as training sees them with a maximum total length of `maxLength` tokens.
 * Throws when conversations meet a model without a chat template (it concerns every record).
 */
export function previewPairs(records: PreferenceRecord[], format: PreferenceDataset['format'], tokenizer: ModelTokenizer, maxLength: number): PairPreview[] {
  requireChatTemplate(tokenizer, records.some((r) => r.example.kind === 'chat'), 'preference pairs');
  return records.map((record) => previewPair(record, format, tokenizer, maxLength));
}
