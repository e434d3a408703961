// Whether the ONNX export answered as the engine did, token by token. The export's side comes with each new
// token's id and text; the engine's side is its streamed text after each token (what ChatApi.compare reports:
// the text so far and the token count, no ids), so token k is compared by the text the answer reads after k
// tokens. Both sides decode with the same tokenizer and stream decoder, so equal tokens give equal texts.

export interface EngineAnswer {
  /** The final text and token count. */
  text: string;
  newTokens: number;
  /** The text after each token (index k - 1 for token k), where it arrived; undefined where it did not. */
  steps: readonly (string | undefined)[];
  stopped: boolean;
}

export interface ExportAnswer {
  text: string;
  tokens: readonly number[];
  /** The text each token added. */
  pieces: readonly string[];
  stopped: boolean;
}

export interface AnswerVerdict {
  same: boolean;
  /** Tokens equal from the start, up to the first difference. */
  equalTokens: number;
  /** The longer answer's token count. */
  totalTokens: number;
  /** Either side was stopped before its end: the comparison covers what was generated. */
  stopped: boolean;
  /** Token index (1-based) where the answers part, and what each side has there (null: that side had ended). */
  difference?: { index: number; engine: string | null; exported: { id: number; text: string } | null };
}

/** The text the engine's answer reads after k tokens, where known. */
function engineAfter(engine: EngineAnswer, k: number): string | undefined {
  if (k === 0) return '';
  return k === engine.newTokens ? engine.text : engine.steps[k - 1];
}

export function compareAnswers(engine: EngineAnswer, exported: ExportAnswer): AnswerVerdict {
  const nE = engine.newTokens;
  const nO = exported.tokens.length;
  const totalTokens = Math.max(nE, nO);
  const stopped = engine.stopped || exported.stopped;
  const common = Math.min(nE, nO);
  let soFar = '';
  let index = common + 1;
  for (let k = 1; k <= common; k++) {
    soFar += exported.pieces[k - 1];
    const known = engineAfter(engine, k);
    // Where the engine's step text did not arrive, the export's text must still lead into the engine's.
    const agrees = known !== undefined ? known === soFar : engine.text.startsWith(soFar);
    if (!agrees) {
      index = k;
      break;
    }
  }
  if (index > common && nE === nO) {
    // Every token agreed: the final texts must too (the last step is compared with the final text above).
    if (engine.text === exported.text) return { same: true, equalTokens: nE, totalTokens, stopped };
    index = nE;
  }
  if (index > totalTokens) index = totalTokens;
  const before = engineAfter(engine, index - 1);
  const after = engineAfter(engine, index);
  const enginePiece = index > nE ? null : before !== undefined && after !== undefined && after.startsWith(before) ? after.slice(before.length) : '?';
  const exportedToken = index > nO ? null : { id: exported.tokens[index - 1], text: exported.pieces[index - 1] };
  return { same: false, equalTokens: index - 1, totalTokens, stopped, difference: { index, engine: enginePiece, exported: exportedToken } };
}

const quoted = (text: string) => JSON.stringify(text);

/** The verdict as one line for the page. */
export function verdictLine(v: AnswerVerdict): string {
  const prefix = v.stopped ? 'Stopped before the end. ' : '';
  if (v.same) return `${prefix}The export answers the same: ${v.equalTokens} of ${v.totalTokens} tokens equal.`;
  const d = v.difference!;
  const engine = d.engine === null ? 'had ended' : d.engine === '?' ? 'wrote a token whose text did not reach the page' : `wrote ${quoted(d.engine)}`;
  const exported = d.exported === null ? 'had ended' : `wrote token ${d.exported.id} ${quoted(d.exported.text)}`;
  return `${prefix}The export answers differently from token ${d.index} on (${v.equalTokens} of ${v.totalTokens} tokens equal): the engine ${engine}, the export ${exported}.`;
}
