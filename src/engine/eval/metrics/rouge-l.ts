// ROUGE-L as Google's rouge_score package computes it (google-research rouge/rouge_scorer.py _score_lcs with
// rouge/tokenize.py, default RougeScorer(['rougeL']) without stemming):
// tokens = lower-case, every run of characters outside [a-z0-9] replaced by a space, split on whitespace,
// empty tokens dropped; LCS = longest common subsequence of the token lists;
// precision = LCS / prediction tokens, recall = LCS / target tokens, F = 2PR / (P + R) (0 when P + R = 0);
// all three are 0 when either side has no tokens.

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export function rougeTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .filter((t) => t !== '');
}

/** Length of the longest common subsequence, one row of the dynamic-programming table at a time. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

/** rouge_score's scorer.score(target, prediction)["rougeL"]. */
export function rougeL(target: string, prediction: string): RougeScore {
  const targetTokens = rougeTokens(target);
  const predictionTokens = rougeTokens(prediction);
  if (targetTokens.length === 0 || predictionTokens.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(targetTokens, predictionTokens);
  const precision = lcs / predictionTokens.length;
  const recall = lcs / targetTokens.length;
  const fmeasure = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, fmeasure };
}
