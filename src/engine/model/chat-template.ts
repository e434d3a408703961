// Chat prompts rendered with the model's own Jinja template (tokenizer_config.json "chat_template") through
// @huggingface/jinja, given the variables transformers' apply_chat_template gives it: messages,
// add_generation_prompt and the special tokens as text. Every render runs under limits on time, text and list
// sizes (template-runtime.ts), since the template comes with a model from the internet.

import { Template, type Environment } from '@huggingface/jinja';
import { ChatTemplateError, ChatTemplateLimitError } from './chat-template-errors';
import { ModelFormatError } from './errors';
import { specialTokenText } from './generation-options';
import { TracingInterpreter, type TurnTrace } from './template-trace';
import { BoundedInterpreter, planned, renderLimits, renderScope, type PlannedTemplate, type RenderLimits } from './template-runtime';

export { ChatTemplateError, ChatTemplateLimitError } from './chat-template-errors';

type Json = Record<string, unknown>;

const FILE = 'tokenizer_config.json';

export interface ChatMessage {
  /** 'system' | 'user' | 'assistant' (templates may accept others). */
  role: string;
  content: string;
}

export interface RenderChatOptions {
  /** End with the assistant's turn header, so the model writes the reply (default true). */
  addGenerationPrompt?: boolean;
  /** Which template of a named list to use (default "default"). */
  templateName?: string;
  /** Extra template variables (e.g. tools); they win over the special tokens, not over messages. */
  variables?: Record<string, unknown>;
}

/** The template text: "chat_template" as a string, or the entry named `name` in its list form. */
function templateText(tokenizerConfig: Json | undefined, name: string): string | undefined {
  const raw = tokenizerConfig?.chat_template;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw;
  if (!Array.isArray(raw)) throw new ModelFormatError(FILE, 'field "chat_template" must be a string or a list of {name, template}');
  const names: string[] = [];
  for (const entry of raw) {
    const e = entry as Json;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || typeof e.template !== 'string') {
      throw new ModelFormatError(FILE, 'each entry of "chat_template" must be {"name": string, "template": string}');
    }
    if (e.name === name) return e.template;
    names.push(e.name);
  }
  throw new ModelFormatError(FILE, `"chat_template" has no template named "${name}" (it has: ${names.join(', ')})`);
}

export function hasChatTemplate(tokenizerConfig: Json | undefined): boolean {
  const raw = tokenizerConfig?.chat_template;
  return typeof raw === 'string' || (Array.isArray(raw) && raw.length > 0);
}

/** Every "*_token" of tokenizer_config.json as text, plus additional_special_tokens. */
function specialTokenVariables(tokenizerConfig: Json | undefined): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tokenizerConfig ?? {})) {
    if (!key.endsWith('_token')) continue;
    const text = specialTokenText(value);
    if (text !== undefined) vars[key] = text;
  }
  const additional = tokenizerConfig?.additional_special_tokens;
  if (Array.isArray(additional)) vars.additional_special_tokens = additional.map(specialTokenText).filter((t) => t !== undefined);
  return vars;
}

/** Builds the interpreter of one render: a BoundedInterpreter, or a subclass that records more as it runs. */
export type InterpreterFactory<T extends BoundedInterpreter> = (scope: Environment, template: PlannedTemplate, limits: RenderLimits) => T;

/**
 * Templates that ran out of time, by text, with their error: they are not run again in this worker or process
 * (each dataset preview or evaluation would otherwise hold the worker for the whole time limit again).
 */
const outOfTime = new Map<string, string>();

export class ChatTemplate {
  private readonly template: PlannedTemplate;
  private readonly text: string;

  /** Throws a ModelFormatError naming tokenizer_config.json when the model has no chat template. */
  constructor(
    private readonly tokenizerConfig: Json | undefined,
    templateName = 'default',
  ) {
    const text = templateText(tokenizerConfig, templateName);
    if (text === undefined) {
      throw new ModelFormatError(
        FILE,
        tokenizerConfig
          ? 'has no "chat_template": this model has no chat format, so prompt it with plain text'
          : 'not found: the model has no chat template, so prompt it with plain text',
      );
    }
    this.text = text;
    try {
      this.template = planned(new Template(text).parsed);
    } catch (err) {
      throw new ChatTemplateError(`cannot be parsed (${(err as Error).message})`);
    }
  }

  /** The prompt text, special tokens included: encode it without adding special tokens again. */
  render(messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
    return this.renderWith(messages, options, (scope, template, limits) => new BoundedInterpreter(scope, template, limits)).text;
  }

  /** One render of the whole conversation (no generation prompt) that says where each prefix's render ends. */
  traceTurns(messages: readonly ChatMessage[]): TurnTrace {
    const traced = this.renderWith(messages, { addGenerationPrompt: false }, (scope, template, limits) => new TracingInterpreter(scope, template, limits, messages.length));
    return traced.interpreter.turns(traced.text);
  }

  /** render() through the interpreter `make` builds, returned with the text for what it recorded. */
  renderWith<T extends BoundedInterpreter>(messages: readonly ChatMessage[], options: RenderChatOptions, make: InterpreterFactory<T>): { text: string; interpreter: T } {
    const stopped = outOfTime.get(this.text);
    if (stopped !== undefined) throw new ChatTemplateLimitError('time', `${stopped} (on an earlier render: the template is not run again)`);
    const limits = renderLimits(messages.length);
    try {
      const scope = renderScope(
        {
          ...specialTokenVariables(this.tokenizerConfig),
          ...options.variables,
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          add_generation_prompt: options.addGenerationPrompt ?? true,
        },
        limits,
      );
      const interpreter = make(scope, this.template, limits);
      return { text: interpreter.render(), interpreter };
    } catch (err) {
      throw this.renderError(err, limits);
    }
  }

  private renderError(err: unknown, limits: RenderLimits): ChatTemplateError {
    if (err instanceof ChatTemplateLimitError && err.limit === 'time') outOfTime.set(this.text, err.detail);
    if (err instanceof ChatTemplateError) return err;
    const message = (err as Error).message;
    // A single built-in call that went past the engine's longest string (e.g. replace() on a text near the limit).
    if (err instanceof RangeError && /string length/i.test(message)) {
      return new ChatTemplateLimitError('text', `rendering stopped: the template built a text longer than the engine allows (limit ${limits.maxChars.toLocaleString('en-US')} characters)`);
    }
    // raise_exception('...') in the template arrives here with the template's own message.
    return new ChatTemplateError(message);
  }
}

/** Renders `messages` with the model's chat template (see ChatTemplate). */
export function renderChat(tokenizerConfig: Json | undefined, messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
  return new ChatTemplate(tokenizerConfig, options.templateName).render(messages, options);
}
