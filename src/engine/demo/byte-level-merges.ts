// Learns the merges of a byte-level BPE vocabulary (GPT-2's scheme) from sample text, for the built-in
// demo tokenizer. Only the training side lives here: encoding and decoding are @huggingface/tokenizers'
// job, reading the tokenizer.json these merges go into.
//
// Training: split the text into words the way the ByteLevel pre-tokenizer does, spell each word with one
// symbol per byte (bytes_to_unicode), then repeatedly merge the most frequent adjacent pair of symbols.

/** GPT-2's bytes_to_unicode: every byte as a printable character (space is "Ġ", newline "Ċ"). */
export function byteSymbols(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + extra++);
  return table;
}

/** The ByteLevel pre-tokenizer's split (use_regex: true): GPT-2's word pattern. */
const WORD_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface LearnedMerges {
  /** Symbol -> id: the 256 byte symbols (ids 0..255), then one per merge in merge order. */
  vocab: Record<string, number>;
  /** Pairs in the order they were learned ("Ġ t" merges "Ġ" and "t"). */
  merges: [string, string][];
}

/** How often each word (spelled in byte symbols) occurs in `texts`. */
function wordCounts(texts: readonly string[]): Map<string, number> {
  const symbols = byteSymbols();
  const encoder = new TextEncoder();
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const [word] of text.matchAll(WORD_PATTERN)) {
      let spelled = '';
      for (const b of encoder.encode(word)) spelled += symbols[b];
      counts.set(spelled, (counts.get(spelled) ?? 0) + 1);
    }
  }
  return counts;
}

/** The most frequent adjacent pair (ties: the pair seen first), or undefined when none occurs twice. */
function bestPair(words: readonly { symbols: string[]; count: number }[]): [string, string] | undefined {
  const counts = new Map<string, { pair: [string, string]; count: number }>();
  for (const w of words) {
    for (let i = 0; i + 1 < w.symbols.length; i++) {
      const key = `${w.symbols[i]}\u0000${w.symbols[i + 1]}`;
      const entry = counts.get(key);
      if (entry) entry.count += w.count;
      else counts.set(key, { pair: [w.symbols[i], w.symbols[i + 1]], count: w.count });
    }
  }
  let best: { pair: [string, string]; count: number } | undefined;
  for (const entry of counts.values()) if (!best || entry.count > best.count) best = entry;
  return best && best.count >= 2 ? best.pair : undefined;
}

function applyMerge(symbols: string[], [left, right]: [string, string]): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right);
      i++;
    } else {
      out.push(symbols[i]);
    }
  }
  return out;
}

/** Up to `maxMerges` merges (fewer when no pair occurs twice any more), deterministic for the same texts. */
export function learnByteLevelMerges(texts: readonly string[], maxMerges: number): LearnedMerges {
  if (!Number.isInteger(maxMerges) || maxMerges < 0) throw new RangeError(`maxMerges must be an integer >= 0, got ${maxMerges}`);
  const vocab: Record<string, number> = {};
  byteSymbols().forEach((s, b) => (vocab[s] = b));
  const words = [...wordCounts(texts)].map(([spelled, count]) => ({ symbols: [...spelled], count }));
  const merges: [string, string][] = [];
  while (merges.length < maxMerges) {
    const pair = bestPair(words);
    if (!pair) break;
    const merged = pair[0] + pair[1];
    // A symbol can be reachable by two different merges; it keeps its first id.
    if (vocab[merged] === undefined) vocab[merged] = Object.keys(vocab).length;
    merges.push(pair);
    for (const w of words) w.symbols = applyMerge(w.symbols, pair);
  }
  return { vocab, merges };
}
