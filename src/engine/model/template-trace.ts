// One render of a whole conversation that also says where the render of each of its prefixes would end, so
// that the assistant spans of a conversation of n turns cost one render instead of n (data/chat-spans.ts).
//
// The interpreter builds its text bottom-up, so the tracer keeps the position the text written so far would
// reach in the final output: each statement of the template body, or of an if / for branch inside it, adds
// its text there (break and continue drop the text of their loop iteration, as the interpreter does). The
// loop over the messages is the for loop whose item is a message; the end of message j's iteration is where
// the prefix messages[:j+1] ends, provided the render had not looked past message j by then. So the tracer
// also follows what the template reads: a message (the loop item, messages[j], messages[-1], loop.nextitem),
// the message list for anything but looping over it, slicing it from a fixed start or taking one item
// (messages|length or a filter reads them all), loop.length and loop.revindex (the conversation's length), and
// after the loop a namespace (state the loop may have left from any message). A prefix is answered only when
// all it read so far, and all the template reads after the loop, lies within the prefix; the caller checks the
// rest (what loop.last changes, the text after the loop) on real renders of the first prefixes of each kind.

import type { Environment } from '@huggingface/jinja';
import type { NodePlace, TemplateNode } from './template-plan';
import { BoundedInterpreter, type PlannedTemplate, type RenderLimits, type TemplateScope, type TemplateValue } from './template-runtime';

type Node = TemplateNode & Record<string, unknown>;

/** Everything: the template read the conversation's length or its last messages. */
const EVERYTHING = Infinity;
const COUNTING_LOOP_FIELDS = new Set(['length', 'revindex', 'revindex0']);

export interface TurnTrace {
  /** The text of the whole conversation (as render() gives it). */
  text: string;
  /**
   * prefixEnds[k] for k = 1..n: where the messages[:k] part of `text` ends, when the render of messages[:k]
   * starts with text.slice(0, prefixEnds[k]) and renders nothing of messages[:k] after it; undefined where the
   * render could not tell.
   */
  prefixEnds: (number | undefined)[];
}

/** Statements whose text goes straight to the output: those of the body, and of if / for branches inside it. */
const streamedCache = new WeakMap<PlannedTemplate, Set<TemplateNode>>();

function streamedStatements(template: PlannedTemplate): Set<TemplateNode> {
  let streamed = streamedCache.get(template);
  if (streamed) return streamed;
  streamed = new Set();
  const isStreamed = (node: TemplateNode): boolean => {
    const place = template.places.get(node);
    if (!place?.inBlock || !place.parent) return false;
    const owner = place.parent;
    return owner.type === 'Program' || ((owner.type === 'If' || owner.type === 'For') && isStreamed(owner));
  };
  for (const node of template.places.keys()) if (isStreamed(node)) streamed.add(node);
  streamedCache.set(template, streamed);
  return streamed;
}

export class TracingInterpreter extends BoundedInterpreter {
  private readonly streamed: Set<TemplateNode>;
  private readonly messageIndex = new Map<unknown, number>();
  private readonly messageLists = new WeakSet<object>();
  /** Where each loop iteration started (break / continue rewind there), by the iteration's `loop` object. */
  private readonly iterationStart = new WeakMap<object, number>();
  private readonly messageLoops = new WeakSet<object>();
  /** The message list a member expression is reading from, between its object's evaluation and its own. */
  private readonly memberObjects = new Map<TemplateNode, TemplateValue>();
  private position = 0;
  /** The highest message index the render has read so far (EVERYTHING when it depends on them all). */
  private seen = -1;
  /** The same, for reads after the loop over the messages ended. */
  private seenAfterLoop = -1;
  private loop: { node: TemplateNode; scope: Environment } | undefined;
  private current = -1;
  private loopDone = false;
  private failed = false;
  private readonly ends: number[] = [];
  private readonly seenAtEnd: number[] = [];

  constructor(
    scope: Environment,
    template: PlannedTemplate,
    limits: RenderLimits,
    private readonly messageCount: number,
  ) {
    super(scope, template, limits);
    this.streamed = streamedStatements(template);
    const list = scope.variables.get('messages');
    if (list && Array.isArray(list.value)) {
      this.messageLists.add(list);
      list.value.forEach((message, i) => this.messageIndex.set(message, i));
    }
  }

  /** What this interpreter followed while it rendered `text` (call after render()). */
  turns(text: string): TurnTrace {
    const n = this.messageCount;
    const prefixEnds: (number | undefined)[] = new Array(n + 1).fill(undefined);
    if (!this.failed && this.loopDone && this.current === n - 1 && this.position === text.length) {
      for (let k = 1; k <= n; k++) {
        const end = this.ends[k - 1];
        if (end !== undefined && this.seenAtEnd[k - 1] <= k - 1 && this.seenAfterLoop <= k - 1) prefixEnds[k] = end;
      }
    }
    return { text, prefixEnds };
  }

  private read(index: number): void {
    if (this.loopDone) this.seenAfterLoop = Math.max(this.seenAfterLoop, index);
    else this.seen = Math.max(this.seen, index);
  }

  protected override entering(node: TemplateNode, place: NodePlace, scope: TemplateScope): void {
    if (place.field !== 'body' || place.parent?.type !== 'For') return;
    const loopObject = scope.variables.get('loop');
    if (!loopObject || this.iterationStart.has(loopObject)) return;
    // The first statement of a new iteration of this loop.
    this.iterationStart.set(loopObject, this.position);
    const loopVariable = (place.parent as Node).loopvar as Node;
    if (loopVariable.type !== 'Identifier') return;
    const index = this.messageIndex.get(scope.variables.get(loopVariable.value as string));
    if (index !== undefined) this.messageIteration(place.parent, scope, loopObject, index);
  }

  private messageIteration(forNode: TemplateNode, scope: Environment, loopObject: object, index: number): void {
    if (!this.loop) {
      this.loop = { node: forNode, scope };
      // Messages before the first one looped over (a system message rendered before the loop) end here.
      for (let j = 0; j < index; j++) this.closeTurn(j);
      // A for-else block runs in a prefix render that loops over nothing, not in this one.
      if (((forNode as Node).defaultBlock as unknown[]).length > 0) this.failed = true;
    } else if (this.loop.node !== forNode || this.loop.scope !== scope || index !== this.current + 1) {
      this.failed = true; // a second loop over the messages, or one that skips or repeats some
    }
    if (this.current >= 0) this.closeTurn(this.current);
    this.current = index;
    this.messageLoops.add(loopObject);
  }

  private closeTurn(index: number): void {
    this.ends[index] = this.position;
    this.seenAtEnd[index] = this.seen;
  }

  protected override abandoned(node: TemplateNode, place: NodePlace, scope: TemplateScope): void {
    this.memberObjects.delete(node);
    if (place.field !== 'body' || place.parent?.type !== 'For') return;
    const loopObject = scope.variables.get('loop');
    const start = loopObject && this.iterationStart.get(loopObject);
    if (start !== undefined) this.position = start;
  }

  protected override evaluated(node: TemplateNode, place: NodePlace, scope: TemplateScope, value: TemplateValue): void {
    if (this.streamed.has(node) && node.type !== 'If' && node.type !== 'For' && value.type !== 'NullValue' && value.type !== 'UndefinedValue') {
      this.position += typeof value.value === 'string' ? value.value.length : value.toString().length;
    }
    const index = this.messageIndex.get(value);
    if (index !== undefined) this.read(index);
    if (this.messageLists.has(value)) this.listRead(place, value);
    else if (this.messageLoops.has(value) && place.field === 'object' && place.parent?.type === 'MemberExpression') this.memberObjects.set(place.parent, value);
    if (node.type === 'MemberExpression') this.memberRead(node as Node, value);
    if (this.loopDone && value.type === 'NamespaceValue') this.read(EVERYTHING);
    // The loop over the messages ended (the for node is evaluated in the scope its own scope extends).
    if (this.loop && node === this.loop.node && scope === this.loop.scope.parent) {
      if (this.current >= 0) this.closeTurn(this.current);
      this.loopDone = true;
    }
  }

  /** The message list itself: looping over it, naming it, or reading from it is fine; anything else reads it all. */
  private listRead(place: NodePlace, list: TemplateValue): void {
    const parent = place.parent;
    if (parent?.type === 'For' && place.field === 'iterable') return;
    if (parent?.type === 'Set' && place.field === 'value') return;
    if (parent?.type === 'MemberExpression' && place.field === 'object') this.memberObjects.set(parent, list);
    else this.read(EVERYTHING);
  }

  /** member.field of a message list (an item or a slice) or of the loop over the messages' `loop`. */
  private memberRead(member: Node, value: TemplateValue): void {
    const object = this.memberObjects.get(member);
    if (object === undefined) return;
    this.memberObjects.delete(member);
    if (this.messageLists.has(object)) {
      if (this.messageIndex.has(value) || value.type === 'UndefinedValue') return; // an item (read above) or none
      if (Array.isArray(value.value) && isForwardSlice(member.property as Node)) this.messageLists.add(value);
      else this.read(EVERYTHING);
      return;
    }
    // loop.last is left to the caller, which renders the first prefixes of each kind (see the header).
    const field = member.computed ? undefined : ((member.property as Node).value as string);
    if (field === undefined || COUNTING_LOOP_FIELDS.has(field)) this.read(EVERYTHING);
  }
}

/** list[start:] with a literal start >= 0: the same items in a prefix as in the whole, up to the prefix's end. */
function isForwardSlice(property: Node): boolean {
  if (property.type !== 'SliceExpression') return false;
  const start = property.start as Node | undefined;
  return property.stop === undefined && property.step === undefined && (start === undefined || (start.type === 'IntegerLiteral' && (start.value as number) >= 0));
}
