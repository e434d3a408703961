// The trained spans of a conversation, in time linear in its length. What is trained is unchanged (TRL's
// assistant-only loss, trl/trainer/sft_trainer.py with assistant_only_loss, with LLaMA-Factory's per-message
// loss_weight deciding which turns): a turn marked train counts from the end of the prompt that asks for it,
// messages[:i] rendered with add_generation_prompt, to the end of messages[:i+1] rendered without it, so its
// end-of-turn token is trained; each end is the common prefix of that render's token ids with the whole
// conversation's ids (counted as a mismatch when the render's ids are not all a prefix).
//
// Rendering and tokenizing each prefix costs time quadratic in the number of turns (a 100,000-turn
// conversation would take days). Instead: one traced render of the whole gives where each prefix's text ends
// in it (model/template-trace.ts); the text after that end (the generation prompt; usually nothing without it)
// is read from real renders of the first two prefixes of each kind, the second checking the first. The whole
// is tokenized once, in pieces cut where its tokens split anyway (model/section-cuts.ts), and each boundary is
// found by tokenizing only the end of its prefix, from the last such cut. Prefixes the trace cannot place are
// rendered as before, within a budget of work proportional to the conversation's length.

import type { ChatTemplate } from '../model/chat-template';
import type { ModelTokenizer } from '../model/tokenizer';
import type { ChatMessage } from './messages';

/** Token positions [start, end) of one trained turn. */
export interface TurnSpan {
  start: number;
  end: number;
}

export interface ChatSpans {
  ids: number[];
  /** One per message marked train, in order. */
  spans: TurnSpan[];
  /** Span ends whose prefix's ids were not all a prefix of the conversation's ids. */
  mismatches: number;
}

/** Characters of prefixes a conversation may render or tokenize on top of its own text: 1 Mi + 8 per character. */
export const PREFIX_WORK_BASE = 1 << 20;
export const PREFIX_WORK_PER_CHAR = 8;

const MAX_REMEMBERED_ENDINGS = 64;

/** A prefix's text as the conversation's first `at` characters followed by `tail`. */
interface PrefixText {
  at: number;
  tail: string;
}

function sharedLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The conversation's ids, tokenized in pieces at safe cuts, and the ids of any prefix from the nearest cut. */
class ConversationIds {
  readonly ids: number[] = [];
  private readonly cuts: number[] = [];
  /** Tokens before each cut. */
  private readonly before: number[] = [];
  private readonly endings = new Map<string, number[]>();

  constructor(
    private readonly text: string,
    candidates: Iterable<number>,
    private readonly tokenizer: ModelTokenizer,
    private readonly spend: (chars: number) => void,
  ) {
    // A safe cut at each place a prefix ends, or the last one before it within its turn.
    const ends = [...new Set(candidates)].filter((c) => c > 0 && c < text.length).sort((a, b) => a - b);
    let from = 0;
    this.cutAt(0);
    for (const end of ends) {
      const cut = tokenizer.sectionCuts.lastCut(text, end, from);
      if (cut === undefined || cut >= text.length) continue;
      this.ids.push(...this.encode(text.slice(from, cut)));
      this.cutAt((from = cut));
    }
    this.ids.push(...this.encode(text.slice(from)));
  }

  private cutAt(at: number): void {
    this.cuts.push(at);
    this.before.push(this.ids.length);
  }

  private encode(text: string): number[] {
    return this.tokenizer.encode(text, { addSpecialTokens: false });
  }

  /** Whether `cut` is safe in text.slice(0, at) + tail (only the characters near the cut are looked at). */
  private safe(cut: number, tail: string, at: number): boolean {
    const reach = this.tokenizer.sectionCuts.reach;
    const from = Math.max(0, cut - reach);
    const window = cut + reach <= at ? this.text.slice(from, cut + reach) : this.text.slice(from, at) + tail.slice(0, reach);
    return this.tokenizer.sectionCuts.cutsAt(window, cut - from);
  }

  /** The ids of a prefix's end; most are the same few texts (the generation prompt, or nothing). */
  private localIds(text: string): number[] {
    let ids = this.endings.get(text);
    if (!ids) {
      this.spend(text.length);
      ids = text === '' ? [] : this.encode(text);
      if (this.endings.size < MAX_REMEMBERED_ENDINGS) this.endings.set(text, ids);
    }
    return ids;
  }

  /** Tokens of the prefix's ids shared with the conversation's, and whether all of them are. */
  boundary({ at, tail }: PrefixText): { tokens: number; whole: boolean } {
    // The last cut at or before `at` (binary search: cuts are in order).
    let [lo, hi] = [0, this.cuts.length - 1];
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cuts[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    let k = lo;
    // The last cut at or before the prefix's end that is also safe in the prefix (its tail may differ).
    while (k > 0 && !this.safe(this.cuts[k], tail, at)) k--;
    const local = this.text.slice(this.cuts[k], at) + tail;
    const localIds = this.localIds(local);
    let shared = 0;
    const offset = this.before[k];
    while (shared < localIds.length && localIds[shared] === this.ids[offset + shared]) shared++;
    return { tokens: offset + shared, whole: shared === localIds.length };
  }
}

export function chatSpans(template: ChatTemplate, tokenizer: ModelTokenizer, messages: readonly ChatMessage[]): ChatSpans {
  const trace = template.traceTurns(messages);
  const text = trace.text;
  const ends = trace.prefixEnds;
  const budget = PREFIX_WORK_BASE + PREFIX_WORK_PER_CHAR * text.length;
  let work = 0;
  const spend = (chars: number) => {
    work += chars;
    if (work > budget) {
      throw new Error(
        `is a conversation of ${messages.length} messages that the chat template does not render turn by turn (a turn's text ` +
          `changes once later turns follow), so its trained spans need a render of each prefix: more than ` +
          `${budget.toLocaleString('en-US')} characters of work, the limit for a conversation of ${text.length.toLocaleString('en-US')} ` +
          `characters; split it into shorter conversations`,
      );
    }
  };
  /** The real render of messages[:k], as the conversation's first characters (`at` of them, when given) and a tail. */
  const rendered = (k: number, addGenerationPrompt: boolean, at?: number): PrefixText & { fits: boolean } => {
    const prefix = template.render(messages.slice(0, k), { addGenerationPrompt });
    spend(2 * prefix.length); // the render and the comparison
    const shared = sharedLength(prefix, text);
    const fits = at !== undefined && shared >= at;
    const split = fits ? at : shared;
    return { at: split, tail: prefix.slice(split), fits };
  };

  // What a prefix adds after its end in the whole (the generation prompt; usually nothing without it) is read
  // from real renders, by the role of the prefix's last message (loop.last may render that turn differently):
  // the first two prefixes of each kind are rendered, and from the third on their tail is used if they agreed.
  const tails = new Map<string, { tail: string; agreed: boolean; broken: boolean }>();
  const prefixText = (k: number, addGenerationPrompt: boolean): PrefixText => {
    const at = ends[k];
    if (k < 1 || at === undefined) return rendered(k, addGenerationPrompt);
    const key = `${addGenerationPrompt}:${messages[k - 1].role}`;
    const known = tails.get(key);
    if (known?.agreed && !known.broken) return { at, tail: known.tail };
    const real = rendered(k, addGenerationPrompt, at);
    if (!known) tails.set(key, { tail: real.tail, agreed: false, broken: !real.fits });
    else if (!real.fits || real.tail !== known.tail) known.broken = true;
    else known.agreed = true;
    return real;
  };

  const trained = messages.flatMap((m, i) => (m.train ? [i] : []));
  // Render what is needed first, then tokenize the conversation in pieces at the ends the trace placed.
  const prefixes = trained.map((i) => ({ start: prefixText(i, true), end: prefixText(i + 1, false) }));
  const conversation = new ConversationIds(text, ends.filter((e): e is number => e !== undefined), tokenizer, spend);
  let mismatches = 0;
  const boundary = (prefix: PrefixText): number => {
    const { tokens, whole } = conversation.boundary(prefix);
    if (!whole) mismatches++;
    return tokens;
  };
  const spans = prefixes.map(({ start, end }) => ({ start: boundary(start), end: boundary(end) }));
  return { ids: conversation.ids, spans, mismatches };
}
