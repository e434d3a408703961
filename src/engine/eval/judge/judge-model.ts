// The judge as the judging code sees it: something that answers a list of chat messages with text.
// Implementations: EngineJudge (any CausalLm Tunelab loads, engine-judge.ts), EndpointJudge (an
// OpenAI-compatible server the caller names explicitly, endpoint-judge.ts), and scripted stubs in tests.

import type { ChatMessage } from '../../model/chat-template';

export interface JudgeModel {
  /** Shown in results ("HuggingFaceTB/SmolLM2-360M-Instruct", "gpt-4o via https://..."). */
  readonly name: string;
  /**
   * The judge's reply to `messages` (system prompt, then the filled template as the user's turn).
   * Several calls may be in flight at once (the runner issues both orders of a pair together); an
   * implementation may batch them. Rejects with the signal's reason when cancelled.
   */
  complete(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<string>;
}
