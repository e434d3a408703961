// Size checks made before the built-in calls of a chat template that can make a long text from short inputs in
// one step, which no check between steps could interrupt: s.replace(old, new) and the replace filter (a short
// `new` put between every character of a long text), the indent filter (a width of 10**8) and the join filter
// (many copies of a long text). The interpreter evaluates a call's arguments before the call itself, so the
// values are collected as their nodes are evaluated and the result's length is worked out at the last one;
// past the limit the call is refused before it runs.

import { ChatTemplateLimitError } from './chat-template-errors';
import type { NodePlace, TemplateNode } from './template-plan';
import type { TemplateValue } from './template-runtime';

type Node = TemplateNode & Record<string, unknown>;

const GUARDED_FILTERS = new Set(['replace', 'indent', 'join']);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface CallValues {
  subject?: TemplateValue;
  /** By position in the call's argument list (positional arguments come first). */
  positional: TemplateValue[];
  keyword: Map<string, TemplateValue>;
}

const name = (node: unknown): string | undefined => {
  const n = node as Node | undefined;
  return n?.type === 'Identifier' ? (n.value as string) : undefined;
};

function countOf(text: string, part: string): number {
  let count = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) count++;
  return count;
}

function textLength(value: TemplateValue | undefined): number {
  const v = value?.value;
  return typeof v === 'string' ? v.length : String(v).length;
}

/** The length of the call's result, or undefined when the inputs are not the kinds that call can amplify. */
function resultLength(call: string, { subject, positional, keyword }: CallValues): number | undefined {
  const arg = (i: number, key: string) => positional[i] ?? keyword.get(key);
  const text = typeof subject?.value === 'string' ? subject.value : undefined;
  if (call === 'replace' && text !== undefined) {
    const [from, to, count] = [arg(0, 'old'), arg(1, 'new'), arg(2, 'count')];
    if (typeof from?.value !== 'string' || typeof to?.value !== 'string') return undefined;
    let times = from.value === '' ? text.length + 1 : countOf(text, from.value);
    if (typeof count?.value === 'number' && count.value >= 0) times = Math.min(times, count.value);
    return text.length + times * (to.value.length - from.value.length);
  }
  if (call === 'indent' && text !== undefined) {
    const width = arg(0, 'width');
    if (typeof width?.value !== 'number') return undefined;
    return text.length + (countOf(text, '\n') + 1) * Math.max(0, width.value);
  }
  if (call === 'join') {
    const separator = arg(0, 'separator') ?? keyword.get('d');
    const gap = separator === undefined ? 0 : textLength(separator);
    if (text !== undefined) return text.length + Math.max(0, text.length - 1) * gap;
    if (!Array.isArray(subject?.value)) return undefined;
    const items = subject.value as TemplateValue[];
    return items.reduce((sum, item) => sum + textLength(item), 0) + Math.max(0, items.length - 1) * gap;
  }
  return undefined;
}

/** The argument node evaluated last: the last keyword argument's value, else the last positional one. */
function lastArgument(call: Node): TemplateNode | undefined {
  const args = call.args as Node[];
  const keywords = args.filter((a) => a.type === 'KeywordArgumentExpression');
  if (keywords.length > 0) return keywords.at(-1)!.value as TemplateNode;
  return args.filter((a) => a.type !== 'SpreadExpression' && a.type !== 'KeywordSpreadExpression').at(-1);
}

export class CallGuards {
  /** The inputs of each guarded call node, overwritten at each of its evaluations. */
  private readonly inputs = new Map<TemplateNode, CallValues>();

  constructor(
    private readonly places: Map<TemplateNode, NodePlace>,
    private readonly maxChars: number,
  ) {}

  /** The guarded call's name: a replace/indent/join filter, or a .replace() method call. */
  private guarded(call: Node): string | undefined {
    const place = this.places.get(call);
    const filter = name(call.callee);
    if (place?.field === 'filter' && filter && GUARDED_FILTERS.has(filter)) return filter;
    const callee = call.callee as Node;
    return callee.type === 'MemberExpression' && name(callee.property) === 'replace' ? 'replace' : undefined;
  }

  private values(call: TemplateNode): CallValues {
    let v = this.inputs.get(call);
    if (!v) this.inputs.set(call, (v = { positional: [], keyword: new Map() }));
    return v;
  }

  /** Records `value` of `node` where a guarded call needs it, and checks the call once it has every input. */
  afterEvaluate(node: TemplateNode, place: NodePlace, value: TemplateValue): void {
    const parent = place.parent as Node | undefined;
    if (!parent) return;
    if (place.field === 'operand' && parent.type === 'FilterExpression') {
      const filter = parent.filter as Node;
      const call = name(filter) ?? name(filter.callee);
      if (!call || !GUARDED_FILTERS.has(call)) return;
      if (filter.type === 'Identifier') this.check(call, { subject: value, positional: [], keyword: new Map() });
      else this.values(filter).subject = value;
    } else if (place.field === 'args' && parent.type === 'CallExpression') {
      if (!this.guarded(parent)) return;
      this.values(parent).positional[(parent.args as Node[]).indexOf(node as Node)] = value;
      this.checkFilterAt(parent, node);
    } else if (place.field === 'value' && parent.type === 'KeywordArgumentExpression') {
      const call = this.places.get(parent)?.parent as Node | undefined;
      if (call?.type !== 'CallExpression' || !this.guarded(call)) return;
      this.values(call).keyword.set(name(parent.key) ?? '', value);
      this.checkFilterAt(call, node);
    } else if (place.field === 'object' && parent.type === 'MemberExpression' && name(parent.property) === 'replace') {
      // s.replace(old, new): its arguments were evaluated first, and the call runs right after its callee.
      const callPlace = this.places.get(parent);
      if (callPlace?.field !== 'callee' || !callPlace.parent) return;
      this.check('replace', { ...this.values(callPlace.parent), subject: value });
    }
  }

  /** A filter call is checked at its last argument (its operand was evaluated before them). */
  private checkFilterAt(call: Node, argument: TemplateNode): void {
    const filter = this.places.get(call)?.field === 'filter' ? this.guarded(call) : undefined;
    if (filter && lastArgument(call) === argument) this.check(filter, this.values(call));
  }

  private check(call: string, values: CallValues): void {
    const length = resultLength(call, values);
    if (length !== undefined && length > this.maxChars) {
      throw new ChatTemplateLimitError('text', `rendering stopped: ${call}() would build a text of ${fmt(length)} characters, over the limit of ${fmt(this.maxChars)}`);
    }
  }
}
