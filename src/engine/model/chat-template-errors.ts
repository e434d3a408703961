// Errors of a model's chat template (tokenizer_config.json "chat_template"): one that cannot be parsed or that
// raised an exception, and one that a render limit stopped (see template-runtime.ts).

const WHERE = 'tokenizer_config.json: chat_template';

/** A template that could not be parsed, that stopped with raise_exception(message), or that hit a limit. */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
  /** The message without the file and field it starts with. */
  constructor(readonly detail: string) {
    super(`${WHERE}: ${detail}`);
  }
}

/** Which render limit stopped a template: wall-clock time, the length of a text, or the length of a list. */
export type RenderLimitKind = 'time' | 'text' | 'list';

/** A render stopped by one of its limits; the message names the limit and the value that passed it. */
export class ChatTemplateLimitError extends ChatTemplateError {
  override name = 'ChatTemplateLimitError';
  constructor(
    readonly limit: RenderLimitKind,
    detail: string,
  ) {
    super(detail);
  }
}
