// The ONNX messages a decoder export writes, encoded field by field with protobufjs's Writer. Not reflection:
// a protobufjs reflection type compiles its encoder with `Function(...)`, which the built studio's
// Content-Security-Policy (no 'unsafe-eval') forbids in the worker that exports. Field numbers and enum values
// are onnx.proto's (github.com/onnx/onnx, onnx/onnx.proto, IR version 8). Repeated integers are written packed,
// as our files always were (protobuf parsers accept packed and unpacked alike for a proto2 repeated scalar), so
// the bytes equal the earlier reflection encoder's; a field is written exactly when it is given.

import protobuf from 'protobufjs/minimal.js';

type Writer = protobuf.Writer;

/** TensorProto.DataType values. */
export const OnnxType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type OnnxElemType = (typeof OnnxType)[keyof typeof OnnxType];

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** Protobuf wire types. */
const VARINT = 0;
const FIXED32 = 5;
const LENGTH_DELIMITED = 2;
const key = (field: number, wireType: number) => ((field << 3) | wireType) >>> 0;

/** GraphProto field 5 (initializer) and ModelProto field 7 (graph), length-delimited: the keys a stream writes by hand. */
export const GRAPH_INITIALIZER_KEY = key(5, LENGTH_DELIMITED);
export const MODEL_GRAPH_KEY = key(7, LENGTH_DELIMITED);
/** TensorProto field 9 (raw_data), length-delimited. */
export const TENSOR_RAW_DATA_KEY = key(9, LENGTH_DELIMITED);

export interface StringEntry {
  key: string;
  value: string;
}

export interface TensorHeader {
  name: string;
  dims: readonly number[];
  dataType: OnnxElemType;
  /** TensorProto.DataLocation EXTERNAL (1) with location / offset / length entries. */
  externalData?: readonly StringEntry[];
}

export type AttributeMessage =
  | { name: string; type: typeof AttributeType.INT; i: number }
  | { name: string; type: typeof AttributeType.FLOAT; f: number }
  | { name: string; type: typeof AttributeType.INTS; ints: readonly number[] }
  | { name: string; type: typeof AttributeType.STRING; s: Uint8Array };

export interface NodeMessage {
  name: string;
  opType: string;
  input: readonly string[];
  output: readonly string[];
  attribute: readonly AttributeMessage[];
}

export interface ValueInfoMessage {
  name: string;
  elemType: OnnxElemType;
  /** A fixed size or a named (symbolic) one per axis. */
  dims: readonly (number | string)[];
}

export interface GraphBody {
  name: string;
  node: readonly NodeMessage[];
  input: readonly ValueInfoMessage[];
  output: readonly ValueInfoMessage[];
}

export interface ModelHead {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsetImport: readonly { domain: string; version: number }[];
  metadataProps: readonly StringEntry[];
}

/** Writes a nested message as field `field`: key, then its length-delimited body. */
function nested(w: Writer, field: number, body: (w: Writer) => void): void {
  w.uint32(key(field, LENGTH_DELIMITED)).fork();
  body(w);
  w.ldelim();
}

const writeString = (w: Writer, field: number, value: string) => w.uint32(key(field, LENGTH_DELIMITED)).string(value);
const writeInt64 = (w: Writer, field: number, value: number) => w.uint32(key(field, VARINT)).int64(value);

/** A packed repeated int64 field: one key and length, then the varints (nothing for an empty list). */
function writePackedInt64(w: Writer, field: number, values: readonly number[]): void {
  if (values.length === 0) return;
  w.uint32(key(field, LENGTH_DELIMITED)).fork();
  for (const v of values) w.int64(v);
  w.ldelim();
}

function writeEntry(w: Writer, field: number, e: StringEntry): void {
  nested(w, field, (m) => {
    writeString(m, 1, e.key);
    writeString(m, 2, e.value);
  });
}

/** An initializer's TensorProto without its raw data: dims 1, data_type 2, name 8, external_data 13, data_location 14. */
export function encodeTensorHeader(t: TensorHeader): Uint8Array {
  const w = protobuf.Writer.create();
  writePackedInt64(w, 1, t.dims);
  w.uint32(key(2, VARINT)).int32(t.dataType);
  writeString(w, 8, t.name);
  if (t.externalData) {
    for (const e of t.externalData) writeEntry(w, 13, e);
    w.uint32(key(14, VARINT)).int32(1);
  }
  return w.finish();
}

/** AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20. */
function writeAttribute(w: Writer, a: AttributeMessage): void {
  nested(w, 5, (m) => {
    writeString(m, 1, a.name);
    switch (a.type) {
      case AttributeType.FLOAT:
        m.uint32(key(2, FIXED32)).float(a.f);
        break;
      case AttributeType.INT:
        writeInt64(m, 3, a.i);
        break;
      case AttributeType.STRING:
        m.uint32(key(4, LENGTH_DELIMITED)).bytes(a.s);
        break;
      case AttributeType.INTS:
        writePackedInt64(m, 8, a.ints);
        break;
    }
    m.uint32(key(20, VARINT)).int32(a.type);
  });
}

/** ValueInfoProto { name 1, type 2: TypeProto { tensor_type 1: { elem_type 1, shape 2: { dim 1: { dim_value 1 | dim_param 2 } } } } }. */
function writeValueInfo(w: Writer, field: number, v: ValueInfoMessage): void {
  nested(w, field, (info) => {
    writeString(info, 1, v.name);
    nested(info, 2, (type) =>
      nested(type, 1, (tensor) => {
        tensor.uint32(key(1, VARINT)).int32(v.elemType);
        nested(tensor, 2, (shape) => {
          for (const d of v.dims) {
            nested(shape, 1, (dim) => (typeof d === 'number' ? writeInt64(dim, 1, d) : writeString(dim, 2, d)));
          }
        });
      }),
    );
  });
}

/** GraphProto without its initializers (streamed after it): node 1, name 2, input 11, output 12. */
export function encodeGraphBody(g: GraphBody): Uint8Array {
  const w = protobuf.Writer.create();
  for (const n of g.node) {
    // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
    nested(w, 1, (m) => {
      for (const i of n.input) writeString(m, 1, i);
      for (const o of n.output) writeString(m, 2, o);
      writeString(m, 3, n.name);
      writeString(m, 4, n.opType);
      for (const a of n.attribute) writeAttribute(m, a);
    });
  }
  writeString(w, 2, g.name);
  for (const v of g.input) writeValueInfo(w, 11, v);
  for (const v of g.output) writeValueInfo(w, 12, v);
  return w.finish();
}

/** ModelProto without its graph (streamed after it): ir_version 1, producer_name 2, producer_version 3, opset_import 8, metadata_props 14. */
export function encodeModelHead(m: ModelHead): Uint8Array {
  const w = protobuf.Writer.create();
  writeInt64(w, 1, m.irVersion);
  writeString(w, 2, m.producerName);
  writeString(w, 3, m.producerVersion);
  for (const o of m.opsetImport) {
    nested(w, 8, (op) => {
      // onnx.proto: an empty or absent domain is the default ONNX domain.
      if (o.domain !== '') writeString(op, 1, o.domain);
      writeInt64(op, 2, o.version);
    });
  }
  for (const e of m.metadataProps) writeEntry(w, 14, e);
  return w.finish();
}

/** Protobuf's base-128 varint of a non-negative integer (lengths up to 2^53). */
export function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Uint8Array.from(bytes);
}
