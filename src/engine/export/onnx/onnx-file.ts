// Writes a built graph as an ONNX model file, streamed: the graph's nodes, inputs and outputs are encoded
// with protobufjs's Writer (onnx-messages.ts), each initializer's header likewise, and the weights' bytes are made one tensor at a time
// and written after their header (protobuf allows a message's fields in any order and lengths are known up
// front). Above the 2 GB protobuf limit the weights go to external data files (onnx/external_data_helper.py
// semantics: TensorProto.data_location EXTERNAL with location / offset / length), split into chunks the
// way transformers.js loads them: model.onnx_data, model.onnx_data_1, ...

import type { ExportFile } from '../export-file';
import { encodeAttribute, type GraphBuilder, type Initializer } from './graph-builder';
import { encodeGraphBody, encodeModelHead, encodeTensorHeader, GRAPH_INITIALIZER_KEY, MODEL_GRAPH_KEY, TENSOR_RAW_DATA_KEY, varint, type TensorHeader } from './onnx-messages';

/** ONNX IR version 8 with the default-domain opset 17 (LayerNormalization; ReduceMean's axes attribute). */
export const IR_VERSION = 8;
export const OPSET = 17;

/** protobuf messages must stay under 2^31 bytes; leave room for the graph itself. */
export const INLINE_LIMIT_BYTES = 2_000_000_000;
/** Tensors smaller than this stay inline even in an external-data model (onnx's size_threshold). */
const EXTERNAL_MIN_BYTES = 1024;
/** External data offsets are aligned for memory-mapping. */
const EXTERNAL_ALIGN = 4096;

export interface OnnxFileOptions {
  /** e.g. "onnx/model.onnx" */
  path: string;
  producerVersion: string;
  /** Initializer bytes above which weights go to external data (default 2e9). */
  inlineLimitBytes?: number;
  /** Bytes per external data file (default 2e9, each chunk a browser can hold as one ArrayBuffer). */
  externalChunkBytes?: number;
  metadata?: Record<string, string>;
}

export interface OnnxFiles {
  /** The model file, then its external data chunks (none when inline). */
  files: ExportFile[];
  /** External data files, for transformers.js_config.use_external_data_format (0: inline). */
  externalChunks: number;
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
};

interface Placement {
  init: Initializer;
  /** External chunk index and offset, or undefined when inline. */
  chunk?: number;
  offset?: number;
}

function place(inits: readonly Initializer[], external: boolean, chunkBytes: number): { placements: Placement[]; chunkSizes: number[] } {
  const chunkSizes: number[] = [];
  const placements = inits.map((init): Placement => {
    if (!external || init.byteLength < EXTERNAL_MIN_BYTES) return { init };
    let chunk = chunkSizes.length - 1;
    let offset = chunk < 0 ? 0 : Math.ceil(chunkSizes[chunk] / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
    if (chunk < 0 || (offset + init.byteLength > chunkBytes && chunkSizes[chunk] > 0)) {
      chunkSizes.push(0);
      chunk++;
      offset = 0;
    }
    chunkSizes[chunk] = offset + init.byteLength;
    return { init, chunk, offset };
  });
  return { placements, chunkSizes };
}

/** An initializer's TensorProto without its raw data (inline) or with its external-data reference. */
function tensorHeader(p: Placement, dataFile: (chunk: number) => string): Uint8Array {
  const { init } = p;
  const message: TensorHeader = { name: init.name, dims: init.dims, dataType: init.elemType };
  if (p.chunk !== undefined) {
    message.externalData = [
      { key: 'location', value: dataFile(p.chunk) },
      { key: 'offset', value: String(p.offset) },
      { key: 'length', value: String(init.byteLength) },
    ];
  }
  return encodeTensorHeader(message);
}

export function onnxModelFiles(graph: GraphBuilder, options: OnnxFileOptions): OnnxFiles {
  const weightBytes = graph.initializers.reduce((n, i) => n + i.byteLength, 0);
  const external = weightBytes > (options.inlineLimitBytes ?? INLINE_LIMIT_BYTES);
  const fileName = options.path.split('/').pop()!;
  const dataFile = (chunk: number) => `${fileName}_data${chunk === 0 ? '' : `_${chunk}`}`;
  const { placements, chunkSizes } = place(graph.initializers, external, options.externalChunkBytes ?? INLINE_LIMIT_BYTES);

  const graphBody = encodeGraphBody({
    name: 'main_graph',
    node: graph.nodes.map((n) => ({
      name: n.name,
      opType: n.opType,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attributes).map(([k, a]) => encodeAttribute(k, a)),
    })),
    input: graph.inputs,
    output: graph.outputs,
  });

  // Each initializer: key + length + header (+ raw_data key + length + bytes when inline).
  const initParts = placements.map((p) => {
    const header = tensorHeader(p, dataFile);
    const inline = p.chunk === undefined;
    const rawPrefix = inline ? concat([Uint8Array.of(TENSOR_RAW_DATA_KEY), varint(p.init.byteLength)]) : new Uint8Array(0);
    const messageLength = header.byteLength + rawPrefix.byteLength + (inline ? p.init.byteLength : 0);
    const prefix = concat([Uint8Array.of(GRAPH_INITIALIZER_KEY), varint(messageLength), header, rawPrefix]);
    return { p, prefix, inline, size: prefix.byteLength + (inline ? p.init.byteLength : 0) };
  });
  const graphLength = graphBody.byteLength + initParts.reduce((n, i) => n + i.size, 0);
  const modelHead = encodeModelHead({
    irVersion: IR_VERSION,
    producerName: 'tunelab',
    producerVersion: options.producerVersion,
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  const graphPrefix = concat([modelHead, Uint8Array.of(MODEL_GRAPH_KEY), varint(graphLength)]);

  function* checked(init: Initializer): Iterable<Uint8Array> {
    let length = 0;
    for (const chunk of init.chunks()) {
      length += chunk.byteLength;
      yield chunk;
    }
    if (length !== init.byteLength) throw new RangeError(`ONNX initializer "${init.name}" gave ${length} bytes, ${init.byteLength} expected`);
  }
  const model: ExportFile = {
    path: options.path,
    size: graphPrefix.byteLength + graphLength,
    async *chunks() {
      yield graphPrefix;
      yield graphBody;
      for (const part of initParts) {
        yield part.prefix;
        if (part.inline) yield* checked(part.p.init);
      }
    },
  };
  const dir = options.path.slice(0, options.path.length - fileName.length);
  const dataFiles = chunkSizes.map(
    (size, chunk): ExportFile => ({
      path: `${dir}${dataFile(chunk)}`,
      size,
      async *chunks() {
        let at = 0;
        for (const p of placements) {
          if (p.chunk !== chunk) continue;
          if (p.offset! > at) yield new Uint8Array(p.offset! - at);
          yield* checked(p.init);
          at = p.offset! + p.init.byteLength;
        }
      },
    }),
  );
  return { files: [model, ...dataFiles], externalChunks: chunkSizes.length };
}
