// Chat messages as datasets write them, normalised: role/content (TRL, OpenAI), content as a list of
// text parts ({type: "text", text | value}, LLaMA-Factory v1), ShareGPT's from/value with human/gpt roles,
// and LLaMA-Factory's per-message loss_weight.

export interface ChatMessage {
  role: string;
  content: string;
  /** Whether this turn's tokens are trained: default true for assistant turns only. */
  train: boolean;
}

const SHAREGPT_ROLES: Record<string, string> = { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', system: 'system' };

function contentText(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        const p = part as { type?: unknown; text?: unknown; value?: unknown };
        if (typeof part === 'string') return part;
        if (p && p.type === 'text' && typeof (p.text ?? p.value) === 'string') return (p.text ?? p.value) as string;
        throw new Error(`${where}.content[${i}] is not a text part (only text content is supported)`);
      })
      .join('');
  }
  throw new Error(`${where}.content must be a string or a list of text parts`);
}

/** Normalises one message; `field` names where it sits for errors, e.g. "messages[2]". */
export function normalizeMessage(raw: unknown, field: string): ChatMessage {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${field} must be an object with role and content`);
  const m = raw as Record<string, unknown>;
  let role: string;
  let content: string;
  if (typeof m.role === 'string') {
    role = m.role;
    content = contentText(m.content, field);
  } else if (typeof m.from === 'string') {
    const mapped = SHAREGPT_ROLES[m.from];
    if (!mapped) throw new Error(`${field}.from "${m.from}" is not a supported ShareGPT role (human, gpt, system)`);
    role = mapped;
    content = contentText(m.value, field);
  } else {
    throw new Error(`${field} has no "role" (or ShareGPT "from")`);
  }
  const weight = m.loss_weight;
  const train = typeof weight === 'number' ? weight > 0 : role === 'assistant';
  return { role, content, train };
}

export function normalizeMessages(raw: unknown, field: string): ChatMessage[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new Error(`${field} must be a non-empty list of messages`);
  return raw.map((m, i) => normalizeMessage(m, `${field}[${i}]`));
}

/** One message object: role/content or ShareGPT's from/value. */
export function isMessage(raw: unknown): boolean {
  return !!raw && typeof raw === 'object' && !Array.isArray(raw) && ('role' in raw || 'from' in raw);
}

export function isMessageList(raw: unknown): boolean {
  return Array.isArray(raw) && raw.length > 0 && raw.every(isMessage);
}

/** Same role and text (train flags aside): how a chosen turn is compared with a rejected one. */
export function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  return a.role === b.role && a.content === b.content;
}
