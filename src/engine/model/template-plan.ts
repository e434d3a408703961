// Where each node of a parsed chat template sits: its parent, the parent's field that holds it, and whether it
// is a statement of a block (a template body, an if/for branch, a macro, set, call or filter body), whose
// output the interpreter appends to that block's text. Computed once per template by walking the syntax tree
// of @huggingface/jinja, for the render limits (template-runtime.ts) and the turn tracer (template-trace.ts).

import type { Interpreter, Template } from '@huggingface/jinja';

export type TemplateProgram = Template['parsed'];
/** Any node of the syntax tree (statements and expressions). */
export type TemplateNode = NonNullable<Parameters<Interpreter['evaluate']>[0]>;

export interface NodePlace {
  parent: TemplateNode | undefined;
  /** The parent's field that holds this node ("body", "iterable", "object", "args", ...). */
  field: string;
  /** A statement of a block: its value (if not none) is appended to the block's text. */
  inBlock: boolean;
}

/** Fields that hold a block of statements, by node type. */
const BLOCK_FIELDS: Record<string, readonly string[]> = {
  Program: ['body'],
  If: ['body', 'alternate'],
  For: ['body', 'defaultBlock'],
  Set: ['body'],
  Macro: ['body'],
  CallStatement: ['body'],
  FilterStatement: ['body'],
};

/** Fields that hold lexer tokens (operators), not nodes. */
const TOKEN_FIELDS = new Set(['operator']);

function isNode(value: unknown): value is TemplateNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/** Every node of `program` with its place (the program itself has no parent). */
export function planTemplate(program: TemplateProgram): Map<TemplateNode, NodePlace> {
  const places = new Map<TemplateNode, NodePlace>();
  places.set(program, { parent: undefined, field: '', inBlock: false });
  const stack: TemplateNode[] = [program];
  const visit = (child: unknown, parent: TemplateNode, field: string, inBlock: boolean) => {
    if (!isNode(child) || places.has(child)) return;
    places.set(child, { parent, field, inBlock });
    stack.push(child);
  };
  while (stack.length > 0) {
    const node = stack.pop()!;
    const blockFields = BLOCK_FIELDS[node.type] ?? [];
    for (const [field, value] of Object.entries(node)) {
      if (field === 'type' || TOKEN_FIELDS.has(field)) continue;
      const inBlock = blockFields.includes(field);
      if (Array.isArray(value)) for (const child of value) visit(child, node, field, inBlock);
      else if (value instanceof Map) {
        // ObjectLiteral: a map from key expressions to value expressions.
        for (const [key, entry] of value) {
          visit(key, node, field, false);
          visit(entry, node, field, false);
        }
      } else visit(value, node, field, false);
    }
  }
  return places;
}
