// An OpenAI-compatible chat-completions server as the judge, used only when the caller constructs one with
// an endpoint the user typed in: POST {baseUrl}/chat/completions with {model, messages, n: 1, temperature,
// max_tokens} as FastChat's chat_completion_openai sends them (temperature 0, max_tokens 2048), the key as a
// bearer token. The key lives only in this object's private field; every request (without the key) is kept
// in `requests` so the caller can list what was sent where. A failed request rejects (no retries: FastChat
// retries 16 times and then scores "$ERROR$" as unparsable; here the caller sees the failure).
//
// Public API: new EndpointJudge({ baseUrl, model, apiKey?, temperature?, maxTokens?, fetch? });
//             judge.complete(messages, signal?); judge.requests.

import type { ChatMessage } from '../../model/chat-template';
import type { JudgeModel } from './judge-model';

export interface EndpointJudgeOptions {
  /** e.g. "https://api.openai.com/v1" (a trailing slash is ignored). */
  baseUrl: string;
  /** The server's model name, e.g. "gpt-4o". */
  model: string;
  /** Sent as "Authorization: Bearer <key>"; never stored anywhere else. */
  apiKey?: string;
  temperature?: number;
  maxTokens?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** One request as sent and answered; never holds the key. */
export interface EndpointRequestRecord {
  url: string;
  model: string;
  messages: ChatMessage[];
  /** ms since epoch. */
  startedAt: number;
  durationMs?: number;
  /** HTTP status, when a response came. */
  status?: number;
  /** The judge's reply text. */
  reply?: string;
  error?: string;
}

export class JudgeEndpointError extends Error {
  override readonly name = 'JudgeEndpointError';
}

export class EndpointJudge implements JudgeModel {
  readonly name: string;
  readonly requests: EndpointRequestRecord[] = [];
  readonly #apiKey: string | undefined;
  private readonly url: string;
  private readonly model: string;
  private readonly body: { temperature: number; max_tokens: number };
  private readonly fetchFn: typeof fetch;

  constructor(options: EndpointJudgeOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.baseUrl);
    } catch {
      throw new JudgeEndpointError(`the judge endpoint "${options.baseUrl}" is not a URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new JudgeEndpointError(`the judge endpoint must be http(s), got ${parsed.protocol}`);
    if (options.model === '') throw new JudgeEndpointError('the judge endpoint needs a model name');
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.name = `${options.model} via ${parsed.origin}`;
    this.model = options.model;
    this.body = { temperature: options.temperature ?? 0, max_tokens: options.maxTokens ?? 2048 };
    // A #private field: not enumerable, so JSON.stringify or a structured clone of the judge never carries it.
    this.#apiKey = options.apiKey;
    this.fetchFn = options.fetch ?? ((...args) => fetch(...args));
  }

  async complete(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<string> {
    const record: EndpointRequestRecord = { url: this.url, model: this.model, messages: messages.map((m) => ({ role: m.role, content: m.content })), startedAt: Date.now() };
    this.requests.push(record);
    const started = performance.now();
    try {
      const response = await this.fetchFn(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}) },
        body: JSON.stringify({ model: this.model, messages: record.messages, n: 1, ...this.body }),
        signal,
      });
      record.status = response.status;
      const body = await response.text();
      if (!response.ok) throw new JudgeEndpointError(`${this.url} answered ${response.status}: ${body.slice(0, 200)}`);
      const reply = replyOf(body, this.url);
      record.reply = reply;
      return reply;
    } catch (err) {
      record.error = (err as Error).message;
      throw err;
    } finally {
      record.durationMs = performance.now() - started;
    }
  }
}

/** choices[0].message.content of a chat-completions response. */
function replyOf(body: string, url: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new JudgeEndpointError(`${url} did not answer with JSON: ${body.slice(0, 200)}`);
  }
  const content = (json as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new JudgeEndpointError(`${url} answered without choices[0].message.content`);
  return content;
}
