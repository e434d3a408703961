// The ONNX export's hand-written protobuf encoding (onnx-messages.ts): it must compile no code (the built
// studio's CSP has no 'unsafe-eval'), and what it writes must decode, with onnx.proto's schema, to the fields given.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { onnxExportFiles } from '../../src/engine/export/onnx/onnx-export';
import { AttributeType, encodeGraphBody, encodeModelHead, encodeTensorHeader } from '../../src/engine/export/onnx/onnx-messages';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import { GraphProto, ModelProto, TensorProto } from '../helpers/onnx-reflection';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel } from '../helpers/tiny-models';

const plain = (message: protobuf.Message, type: protobuf.Type) => type.toObject(message, { longs: Number, bytes: Array, defaults: false });

describe('ONNX messages', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('exports a whole model (nodes, attributes, initializers, external data) without compiling code', async () => {
    const dir = await makeTempDir('tunelab-onnx-csp-');
    try {
      await writeTinyModel(dir, 'llama');
      const model = await loadModel(dir);
      const adapter = randomLoraAdapter(model.config.architecture, model.weights, { ...ALL_LINEAR, r: 4 }, 7, 0.05);
      const compiled: string[] = [];
      // What a CSP without 'unsafe-eval' refuses: any Function(...) call (protobufjs reflection compiles its
      // encoders that way on first use).
      vi.stubGlobal('Function', (...args: string[]) => {
        compiled.push(args.join(','));
        throw new EvalError('Function() is refused (no unsafe-eval)');
      });
      let bytes = 0;
      for (const inlineLimitBytes of [undefined, 1000]) {
        const files = onnxExportFiles(model.files, model.weights, adapter, { precision: 'fp32', producerVersion: 'test', card: { baseModel: 'tiny' }, inlineLimitBytes });
        for (const f of files) for await (const c of f.chunks()) bytes += c.byteLength;
      }
      expect(compiled).toEqual([]);
      expect(bytes).toBeGreaterThan(100_000);
    } finally {
      await removeTempDir(dir);
    }
  });

  it('a tensor header (inline and external) decodes to its fields', () => {
    const inline = encodeTensorHeader({ name: 'w', dims: [2, 0, 5_000_000_000], dataType: 10 });
    expect(plain(TensorProto.decode(inline), TensorProto)).toEqual({ name: 'w', dims: [2, 0, 5_000_000_000], dataType: 10 });
    const external = encodeTensorHeader({ name: 'e', dims: [3], dataType: 1, externalData: [{ key: 'location', value: 'model.onnx_data' }, { key: 'offset', value: '4096' }] });
    expect(plain(TensorProto.decode(external), TensorProto)).toEqual({
      name: 'e',
      dims: [3],
      dataType: 1,
      dataLocation: 1,
      externalData: [{ key: 'location', value: 'model.onnx_data' }, { key: 'offset', value: '4096' }],
    });
  });

  it('a graph body decodes to its nodes, every attribute kind (zeros included) and value infos', () => {
    const graph = {
      name: 'main_graph',
      node: [
        {
          name: 'n0',
          opType: 'Gather',
          input: ['table', 'ids'],
          output: ['x'],
          attribute: [
            { name: 'axis', type: AttributeType.INT, i: 0 },
            { name: 'neg', type: AttributeType.INT, i: -3 },
            { name: 'eps', type: AttributeType.FLOAT, f: 1e-5 },
            { name: 'perm', type: AttributeType.INTS, ints: [0, 2, -1] },
            { name: 'mode', type: AttributeType.STRING, s: new TextEncoder().encode('constant') },
          ] as const,
        },
      ],
      input: [{ name: 'ids', elemType: 7 as const, dims: ['batch_size', 0, 4] }],
      output: [{ name: 'x', elemType: 1 as const, dims: [] }],
    };
    const bytes = encodeGraphBody(graph);
    // Zeros are written, as onnx.helper writes a value it is given: a Dimension without dim_value is an unknown
    // size, not 0. The reflection decoder below drops zeros (proto3 defaults), so they are checked in the bytes:
    // attribute "axis" then field 3 (i) = 0, and a Dimension { field 1 (dim_value) = 0 }.
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex).toContain(`0a04${Buffer.from('axis').toString('hex')}1800`);
    expect(hex).toContain('0a020800');
    const decoded = plain(GraphProto.decode(bytes), GraphProto);
    expect(decoded).toEqual({
      name: 'main_graph',
      node: [
        {
          name: 'n0',
          opType: 'Gather',
          input: ['table', 'ids'],
          output: ['x'],
          attribute: [
            { name: 'axis', type: AttributeType.INT },
            { name: 'neg', type: AttributeType.INT, i: -3 },
            { name: 'eps', type: AttributeType.FLOAT, f: Math.fround(1e-5) },
            { name: 'perm', type: AttributeType.INTS, ints: [0, 2, -1] },
            { name: 'mode', type: AttributeType.STRING, s: Array.from(new TextEncoder().encode('constant')) },
          ],
        },
      ],
      input: [{ name: 'ids', type: { tensorType: { elemType: 7, shape: { dim: [{ dimParam: 'batch_size' }, {}, { dimValue: 4 }] } } } }],
      output: [{ name: 'x', type: { tensorType: { elemType: 1, shape: {} } } }],
    });
  });

  it('a model head decodes to its version, producer, opset and metadata', () => {
    const head = encodeModelHead({
      irVersion: 8,
      producerName: 'tunelab',
      producerVersion: '0.1.0',
      opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      metadataProps: [{ key: 'base_model', value: 'tiny' }],
    });
    expect(plain(ModelProto.decode(head), ModelProto)).toEqual({
      irVersion: 8,
      producerName: 'tunelab',
      producerVersion: '0.1.0',
      opsetImport: [{ version: 17 }, { domain: 'com.microsoft', version: 1 }],
      metadataProps: [{ key: 'base_model', value: 'tiny' }],
    });
  });
});
