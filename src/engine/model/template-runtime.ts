// A chat template render that always ends: a time limit, a limit on the text it writes and on every string
// and list it builds, and a range() that refuses to build a list past that limit. A template comes from a
// model repository on the internet, and `{% for i in range(10**9) %}`, nested loops or a string doubled in a
// loop would otherwise hang the worker that renders it (or fill its memory) with no way to stop it.
//
// Why here and not in a separate worker with a timeout: @huggingface/jinja is a tree-walking interpreter, and
// every node it evaluates passes through Interpreter.evaluate, so a subclass sees each step. Checking the
// clock there (every 64 steps, and as each loop starts) and the size of each value it returns bounds time and
// memory at the source, in the browser and in Node alike, with no Node or DOM import in the engine. A worker
// would bound time only by terminate() (a browser cannot cap a worker's memory), would make every caller
// asynchronous (templates are rendered inside the synchronous tokenization of datasets, prompts and
// evaluations), and would copy each conversation across threads for a render that normally takes microseconds.
// The cost here: the studio's GPU worker is held for at most one time limit by a hostile template
// (ChatTemplate then refuses it at once), and a single built-in call cannot be interrupted midway, so the few
// that can make a long text from short inputs are checked before they run (template-call-guards.ts).

import { Environment, Interpreter } from '@huggingface/jinja';
import { ChatTemplateLimitError } from './chat-template-errors';
import { CallGuards } from './template-call-guards';
import { planTemplate, type NodePlace, type TemplateNode, type TemplateProgram } from './template-plan';

export type TemplateValue = ReturnType<Interpreter['evaluate']>;
export type TemplateScope = Parameters<Interpreter['evaluate']>[1];

export interface RenderLimits {
  /** Wall-clock time a render may take, in ms. */
  timeMs: number;
  /** Characters a render may write in all (its output, macro and set bodies) and in any one string it builds. */
  maxChars: number;
  /** Items of any one list the template builds (range() included). */
  maxItems: number;
}

/** A render may take 2 s, plus 0.1 ms per message (a conversation of 100,000 turns is legitimate). */
export const RENDER_BASE_MS = 2000;
export const RENDER_MS_PER_MESSAGE = 0.1;
/** 64 Mi characters: ten times a 100,000-turn conversation, a fraction of a string's maximum length. */
export const MAX_RENDER_CHARS = 1 << 26;
/** 256 Ki items on top of the messages themselves. */
export const MAX_TEMPLATE_ITEMS = 1 << 18;

export function renderLimits(messageCount: number): RenderLimits {
  return {
    timeMs: RENDER_BASE_MS + RENDER_MS_PER_MESSAGE * messageCount,
    maxChars: MAX_RENDER_CHARS,
    maxItems: MAX_TEMPLATE_ITEMS + messageCount,
  };
}

const CLOCK_EVERY_STEPS = 64;
const now = (): number => globalThis.performance.now();
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A parsed template and where its nodes sit, computed once and shared by every render of it. */
export interface PlannedTemplate {
  program: TemplateProgram;
  places: Map<TemplateNode, NodePlace>;
}

export function planned(program: TemplateProgram): PlannedTemplate {
  return { program, places: planTemplate(program) };
}

export class BoundedInterpreter extends Interpreter {
  private steps = 0;
  private written = 0;
  private deadline = Infinity;
  private readonly guards: CallGuards;

  constructor(
    scope: Environment,
    protected readonly template: PlannedTemplate,
    protected readonly limits: RenderLimits,
  ) {
    super(scope);
    this.guards = new CallGuards(template.places, limits.maxChars);
  }

  /** The rendered text; throws ChatTemplateLimitError when a limit stops it. */
  render(): string {
    this.deadline = now() + this.limits.timeMs;
    const out = this.run(this.template.program);
    return typeof out.value === 'string' ? out.value : String(out.value);
  }

  override evaluate(node: TemplateNode | undefined, scope: TemplateScope): TemplateValue {
    // Loops read the clock each time they start: one loop with an empty body makes no other step.
    if ((++this.steps % CLOCK_EVERY_STEPS === 0 || node?.type === 'For') && now() > this.deadline) {
      throw new ChatTemplateLimitError(
        'time',
        `rendering stopped after ${fmt(this.limits.timeMs)} ms, the time limit for this render; the template may loop without end (for example over range(10**9) or nested loops)`,
      );
    }
    const place = node && this.template.places.get(node);
    if (!place) return super.evaluate(node, scope);
    this.entering(node!, place, scope);
    let value: TemplateValue;
    try {
      value = super.evaluate(node, scope);
    } catch (err) {
      this.abandoned(node!, place, scope);
      throw err;
    }
    this.checkSize(value, node!, place);
    this.guards.afterEvaluate(node!, place, value);
    this.evaluated(node!, place, scope, value);
    return value;
  }

  /** Hooks for a subclass that follows the render (template-trace.ts); each node of the template passes here. */
  protected entering(_node: TemplateNode, _place: NodePlace, _scope: TemplateScope): void {}
  /** The node threw (an error, or a loop's break / continue, which drops the loop iteration's text). */
  protected abandoned(_node: TemplateNode, _place: NodePlace, _scope: TemplateScope): void {}
  protected evaluated(_node: TemplateNode, _place: NodePlace, _scope: TemplateScope, _value: TemplateValue): void {}

  private checkSize(value: TemplateValue, node: TemplateNode, place: NodePlace): void {
    const v = value.value;
    if (typeof v === 'string') {
      if (v.length > this.limits.maxChars) this.tooLong(`built a text of ${fmt(v.length)} characters`);
      // A statement's text is appended to its block: count it (if/for blocks are counted through their statements).
      if (place.inBlock && node.type !== 'If' && node.type !== 'For') {
        this.written += v.length;
        if (this.written > this.limits.maxChars) this.tooLong(`wrote more than ${fmt(this.limits.maxChars)} characters`);
      }
    } else if (Array.isArray(v) && v.length > this.limits.maxItems) {
      throw new ChatTemplateLimitError('list', `rendering stopped: the template built a list of ${fmt(v.length)} items, over the limit of ${fmt(this.limits.maxItems)}`);
    }
  }

  private tooLong(what: string): never {
    throw new ChatTemplateLimitError(
      'text',
      `rendering stopped: the template ${what}, over the limit of ${fmt(this.limits.maxChars)} characters; it may build text without end (for example by doubling a string in a loop)`,
    );
  }
}

/** Python's range(), refusing before it allocates a list longer than `maxItems`. */
function boundedRange(maxItems: number) {
  return (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) [start, stop] = [0, start];
    if (![start, stop, step].every(Number.isInteger)) throw new Error('range() arguments must be integers');
    if (step === 0) throw new Error('range() step must not be zero');
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (count > maxItems) {
      throw new ChatTemplateLimitError('list', `rendering stopped: range(${start}, ${stop}, ${step}) would build a list of ${fmt(count)} items, over the limit of ${fmt(maxItems)}`);
    }
    return Array.from({ length: count }, (_, i) => start + i * step);
  };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** strftime_now(format) as chat templates use it (Llama 3.x's "%d %b %Y"): %Y %m %d %b %B %H %M %%. */
function strftimeNow(format: string): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const parts: Record<string, string> = {
    Y: String(d.getFullYear()),
    m: pad(d.getMonth() + 1),
    d: pad(d.getDate()),
    b: MONTHS[d.getMonth()].slice(0, 3),
    B: MONTHS[d.getMonth()],
    H: pad(d.getHours()),
    M: pad(d.getMinutes()),
    '%': '%',
  };
  return format.replace(/%([YmdbBHM%])/g, (_, code: string) => parts[code]);
}

/**
 * The scope a render starts from: @huggingface/jinja's globals (as its Template.render sets them), with range()
 * bounded, then the caller's variables (a variable may not redefine a global, as in Template.render).
 */
export function renderScope(variables: Record<string, unknown>, limits: RenderLimits): Environment {
  const scope = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    raise_exception: (message: string) => {
      throw new Error(message);
    },
    range: boundedRange(limits.maxItems),
    strftime_now: strftimeNow,
  };
  for (const [name, value] of Object.entries(globals)) scope.set(name, value);
  for (const [name, value] of Object.entries(variables)) scope.set(name, value);
  return scope;
}
