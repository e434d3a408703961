// SFT examples rendered for a model, token by token: the engine's own tokenization (chat template, prompt /
// completion boundary, appended EOS) with its train mask, so the page shows exactly what training sees. The
// token texts and the chat-template check serve the preference pairs' preview too (dataset-preview-pairs.ts).

import type { SftDataset, SftRecord } from '../engine/data/sft-examples';
import { TokenIdRangeError } from '../engine/data/token-ids';
import { tokenizeSftDataset, type TokenizedExample } from '../engine/data/tokenize-sft';
import { hasChatTemplate } from '../engine/model/chat-template';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { TokenPreview } from './protocol-datasets';

/** Tokens decoded together before each one, so a piece keeps its leading space. */
const DECODE_WINDOW = 6;
/** A character is at most 4 UTF-8 bytes: byte tokens pending longer than that will not complete one. */
const MAX_PENDING_BYTES = 3;

/**
 * The text each token adds: decode(window + token) minus decode(window). Tokenizers that strip the first
 * space or spell characters as several byte tokens make a token's text depend on its neighbours: a byte
 * token that does not complete a character shows its vocabulary spelling ("<0xC3>"), and the one that
 * completes it shows the whole character.
 */
export function tokenPieces(tokenizer: ModelTokenizer, ids: readonly number[]): string[] {
  let pending = 0;
  return ids.map((id, i) => {
    const end = i - pending;
    const from = Math.max(0, end - DECODE_WINDOW);
    const before = tokenizer.decode(ids.slice(from, end));
    const after = tokenizer.decode(ids.slice(from, i + 1));
    const complete = after.startsWith(before) && !after.endsWith('\uFFFD');
    if (!complete && pending < MAX_PENDING_BYTES) {
      pending++;
      return tokenizer.tokenText(id) ?? `#${id}`;
    }
    pending = 0;
    return after.startsWith(before) ? after.slice(before.length) : (tokenizer.tokenText(id) ?? `#${id}`);
  });
}

/** One record tokenized as training would (completion-only loss), with no length limit. */
function tokenizeRecord(record: SftRecord, format: SftDataset['format'], tokenizer: ModelTokenizer) {
  const dataset: SftDataset = { file: 'preview', format, examples: [record], errors: [], errorCount: 0 };
  const { examples, errors } = tokenizeSftDataset(dataset, tokenizer, { maxLength: Number.MAX_SAFE_INTEGER, completionOnly: true });
  if (examples.length === 0) throw new Error(errors[0]?.message ?? 'could not be tokenized');
  return examples[0];
}

/** Why a record cannot be shown, without the file and line the preview shows beside it. */
export function previewError(err: unknown): string {
  return err instanceof TokenIdRangeError ? err.detail : (err as Error).message;
}

/** Refuses conversations for a model without a chat template: it concerns every record, so the whole page. */
export function requireChatTemplate(tokenizer: ModelTokenizer, hasChats: boolean, what: string): void {
  if (hasChats && !hasChatTemplate(tokenizer.tokenizerConfig)) {
    throw new Error(`These ${what} are conversations, and the loaded model has no chat template to render them with: load an instruct model.`);
  }
}

/**
 * Renders `records` as training sees them, cut to `maxLength` tokens. Tokenized without a length limit
 * first, so an example whose trained tokens all fall past the cut is still shown (flagged truncated).
 * Throws when chat data meets a model without a chat template (it concerns every record).
 */
export function previewRecords(records: SftRecord[], format: SftDataset['format'], tokenizer: ModelTokenizer, maxLength: number): TokenPreview[] {
  requireChatTemplate(tokenizer, records.some((r) => r.example.kind.startsWith('chat')), `${format} examples`);
  return records.map((record) => {
    let example: TokenizedExample;
    try {
      example = tokenizeRecord(record, format, tokenizer);
    } catch (err) {
      return { line: record.line, tokens: [], truncated: false, error: previewError(err) };
    }
    const ids = example.inputIds.slice(0, maxLength);
    const pieces = tokenPieces(tokenizer, ids);
    return {
      line: record.line,
      tokens: ids.map((id, t) => ({ id, text: pieces[t], trained: example.trainMask[t] === 1 })),
      truncated: example.inputIds.length > maxLength,
    };
  });
}
