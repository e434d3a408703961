// Builds an ONNX graph as plain data: nodes with generated value names, small constants kept inline, and
// weight initializers whose bytes are produced only when the file is written (one tensor at a time).

import { AttributeType, OnnxType, type AttributeMessage, type OnnxElemType } from './onnx-messages';

export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'string'; value: string };

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  ints: (value: number[]): Attribute => ({ kind: 'ints', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
};

export interface GraphNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, Attribute>;
}

/** A named initializer whose raw little-endian bytes are made on demand, in one or more slices. */
export interface Initializer {
  name: string;
  elemType: OnnxElemType;
  dims: readonly number[];
  byteLength: number;
  chunks(): Iterable<Uint8Array>;
}

/** A graph input or output: its element type and dims (numbers, or names of dynamic axes). */
export interface ValueInfo {
  name: string;
  elemType: OnnxElemType;
  dims: readonly (number | string)[];
}

const ELEM_BYTES: Record<number, number> = { [OnnxType.FLOAT]: 4, [OnnxType.FLOAT16]: 2, [OnnxType.INT64]: 8, [OnnxType.INT32]: 4, [OnnxType.BOOL]: 1 };

export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers: Initializer[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /** An unused value name with a readable prefix (registered by whoever defines the value). */
  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  input(name: string, elemType: OnnxElemType, dims: readonly (number | string)[]): string {
    this.names.add(name);
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  /** Adds one node; returns its (first) output's name. `outputName` fixes that name. */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputName?: string): string {
    return this.opMulti(opType, inputs, 1, attributes, outputName ? [outputName] : undefined)[0];
  }

  opMulti(opType: string, inputs: string[], outputCount: number, attributes: Record<string, Attribute> = {}, outputNames?: string[]): string[] {
    const outputs: string[] = [];
    for (let i = 0; i < outputCount; i++) {
      const name = outputNames?.[i] ?? this.fresh(opType.toLowerCase());
      if (this.names.has(name)) throw new RangeError(`ONNX graph: value "${name}" is defined twice`);
      this.names.add(name);
      outputs.push(name);
    }
    this.nodes.push({ opType, inputs, outputs, name: `${opType}_${this.nodes.length}`, attributes });
    return outputs;
  }

  /** A weight tensor; `chunks` is called when the file is written. */
  initializer(name: string, elemType: OnnxElemType, dims: readonly number[], chunks: () => Iterable<Uint8Array>): string {
    if (this.names.has(name)) throw new RangeError(`ONNX graph: value "${name}" is defined twice`);
    this.names.add(name);
    const byteLength = dims.reduce((a, b) => a * b, 1) * ELEM_BYTES[elemType];
    this.initializers.push({ name, elemType, dims, byteLength, chunks });
    return name;
  }

  /** An int64 constant (shapes, axes, indices), shared by every use of the same values. */
  int64(values: readonly number[], scalar = false): string {
    const key = `i64:${scalar ? 's' : 'v'}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      const data = BigInt64Array.from(values.map((v) => BigInt(v)));
      name = this.initializer(this.fresh('const_i64'), OnnxType.INT64, scalar ? [] : [values.length], () => [new Uint8Array(data.buffer)]);
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant, shared by every use of the same value. */
  float(value: number): string {
    const key = `f32:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      const data = Float32Array.of(value);
      name = this.initializer(this.fresh('const_f32'), OnnxType.FLOAT, [], () => [new Uint8Array(data.buffer)]);
      this.constants.set(key, name);
    }
    return name;
  }
}

/** An attribute as its AttributeProto fields. */
export function encodeAttribute(name: string, a: Attribute): AttributeMessage {
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
  }
}
