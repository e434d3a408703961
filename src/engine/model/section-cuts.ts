// Where a text can be cut so that its two parts, tokenized apart, give exactly the tokens of the whole.
// @huggingface/tokenizers first splits a text at the added tokens it finds in it (those matched before
// normalization: Tokenizer.encode_text's splitter_unnormalized, longest match first, left to right), then
// normalizes, pre-tokenizes and runs the model on each section alone. So a cut is safe where a section
// starts in both the whole and the parts: right before an added token (unless it strips the space before
// it), or right after one (unless it strips the space after it, or the pre-tokenizer treats the text's first
// section apart, as Metaspace's prepend_scheme "first" does), with no added token spanning the cut. That is
// how a conversation is tokenized turn by turn with the ids of the whole (data/chat-spans.ts).

type Json = Record<string, unknown>;

interface AddedToken {
  content: string;
  lstrip: boolean;
  rstrip: boolean;
}

function addedTokens(tokenizerJson: Json): AddedToken[] {
  const list = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as Json[]) : [];
  const hasNormalizer = tokenizerJson.normalizer !== null && tokenizerJson.normalizer !== undefined;
  const tokens: AddedToken[] = [];
  for (const t of list) {
    if (typeof t?.content !== 'string' || t.content === '') continue;
    // As the library: a token marked normalized (default: when not special) is matched after normalization.
    const normalized = typeof t.normalized === 'boolean' ? t.normalized : t.special !== true;
    if (normalized && hasNormalizer) continue;
    tokens.push({ content: t.content, lstrip: t.lstrip === true, rstrip: t.rstrip === true });
  }
  return tokens;
}

/** A Metaspace pre-tokenizer (alone or in a Sequence) that adds its prefix to the text's first section only. */
function treatsFirstSectionApart(preTokenizer: unknown): boolean {
  const p = preTokenizer as Json | null | undefined;
  if (!p || typeof p !== 'object') return false;
  if (p.type === 'Metaspace') return p.prepend_scheme === 'first';
  const children = p.pretokenizers;
  return Array.isArray(children) && children.some(treatsFirstSectionApart);
}

export class SectionCuts {
  /** Added tokens by first character, longest first. */
  private readonly byFirstChar = new Map<string, AddedToken[]>();
  private readonly lastChars = new Set<string>();
  private readonly longest: number;
  private readonly firstSectionApart: boolean;

  constructor(tokenizerJson: Json) {
    const tokens = addedTokens(tokenizerJson);
    for (const t of tokens.sort((a, b) => b.content.length - a.content.length)) {
      const group = this.byFirstChar.get(t.content[0]);
      if (group) group.push(t);
      else this.byFirstChar.set(t.content[0], [t]);
    }
    for (const t of tokens) this.lastChars.add(t.content.at(-1)!);
    this.longest = tokens.reduce((m, t) => Math.max(m, t.content.length), 0);
    this.firstSectionApart = treatsFirstSectionApart(tokenizerJson.pre_tokenizer);
  }

  /** The longest added token at `at` (the one the library's splitter takes there). */
  private tokenAt(text: string, at: number): AddedToken | undefined {
    return this.byFirstChar.get(text[at])?.find((t) => text.startsWith(t.content, at));
  }

  /** An added token that starts before `at` and ends after it. */
  private spans(text: string, at: number): boolean {
    for (let p = Math.max(0, at - this.longest + 1); p < at; p++) {
      const group = this.byFirstChar.get(text[p]);
      if (group?.some((t) => p + t.content.length > at && text.startsWith(t.content, p))) return true;
    }
    return false;
  }

  /**
   * True when encode(text) is encode(text.slice(0, at)) followed by encode(text.slice(at)). It reads only the
   * characters within the longest added token's length of `at`, so `text` may be a window of a longer text
   * (with `at` relative to it) as long as that window reaches that far on both sides, or to the text's ends.
   */
  cutsAt(text: string, at: number): boolean {
    if (at <= 0 || at >= text.length) return true;
    const next = this.tokenAt(text, at);
    if (next) return !next.lstrip && !this.spans(text, at);
    if (this.firstSectionApart || !this.lastChars.has(text[at - 1])) return false;
    // Right after a token: the splitter took it if no token spans its start and it is the longest there.
    for (let p = Math.max(0, at - this.longest); p < at; p++) {
      const token = this.tokenAt(text, p);
      if (token && p + token.content.length === at) return !token.rstrip && !this.spans(text, p) && !this.spans(text, at);
    }
    return false;
  }

  /** The last position in (floor, at] where cutsAt(text, position) holds, or undefined. */
  lastCut(text: string, at: number, floor: number): number | undefined {
    for (let p = at; p > floor; p--) if (this.cutsAt(text, p)) return p;
    return undefined;
  }

  /** How far on each side of a cut cutsAt() reads. */
  get reach(): number {
    return 2 * this.longest;
  }
}
