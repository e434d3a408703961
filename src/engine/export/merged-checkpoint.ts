// The base checkpoint's tensors, under their own names and layouts, with a LoRA adapter merged in as PEFT's
// merge_and_unload does (peft/tuners/lora/layer.py, Linear.get_delta_weight): W += scale * B @ A for each
// targeted module, transposed for GPT-2's Conv1D (fan_in_fan_out). Tensors are converted one slice at a time.

import type { LoraAdapter, LoraModule } from '../lora/adapter';
import type { SafetensorsFile } from '../model/safetensors';
import { encodeFloats, encodeRowSlices, FLOAT_DTYPE_BYTES, type FloatDtype } from './tensor-encode';
import type { StreamTensor } from './safetensors-stream';

const FLOAT_SOURCES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** scale * B @ A (out, in) accumulated in float64, added to a checkpoint tensor (out, in), or (in, out) if fan_in_fan_out. */
export function addLoraDelta(values: Float32Array, module: LoraModule, r: number, scale: number): void {
  const { inFeatures: inF, outFeatures: out, a, b, fanInFanOut } = module;
  if (values.length !== inF * out) throw new RangeError(`LoRA ${module.path}: weight has ${values.length} values, expected ${out} x ${inF}`);
  const row = new Float64Array(inF);
  for (let o = 0; o < out; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const bk = b[o * r + k];
      if (bk === 0) continue;
      const aRow = k * inF;
      for (let i = 0; i < inF; i++) row[i] += bk * a[aRow + i];
    }
    if (fanInFanOut) for (let i = 0; i < inF; i++) values[i * out + o] += scale * row[i];
    else for (let i = 0; i < inF; i++) values[o * inF + i] += scale * row[i];
  }
}

/** The checkpoint name of a module's weight: PEFT paths carry GPT-2's "transformer." prefix, Hub "gpt2" lacks it. */
function moduleTensorName(path: string, names: ReadonlySet<string>): string | undefined {
  for (const name of [`${path}.weight`, `${path.replace(/^transformer\./, '')}.weight`]) if (names.has(name)) return name;
  return undefined;
}

/**
 * Every tensor of the checkpoint, in file order, as `dtype` (float tensors; others are copied as they are),
 * with `adapter` merged into the weights it targets.
 */
export function mergedCheckpointTensors(files: readonly SafetensorsFile[], adapter: LoraAdapter | undefined, dtype: FloatDtype): StreamTensor[] {
  const all = files.flatMap((f) => [...f.tensors.values()]);
  const names = new Set(all.map((t) => t.name));
  const modules = new Map<string, LoraModule>();
  for (const m of adapter?.modules ?? []) {
    const name = moduleTensorName(m.path, names);
    if (!name) throw new RangeError(`LoRA module ${m.path} has no weight tensor in the checkpoint`);
    modules.set(name, m);
  }
  return all.map((t): StreamTensor => {
    if (!FLOAT_SOURCES.has(t.dtype)) {
      return { name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.bytes.byteLength, chunks: () => [t.bytes] };
    }
    const byteLength = t.size * FLOAT_DTYPE_BYTES[dtype];
    const module = modules.get(t.name);
    if (!module || !adapter) {
      const readRows = (begin: number, end: number) => (t.shape.length ? t.rows(begin, end).toFloat32() : t.toFloat32());
      return { name: t.name, dtype, shape: t.shape, byteLength, chunks: () => encodeRowSlices(t.shape, readRows, dtype, t.name) };
    }
    return {
      name: t.name,
      dtype,
      shape: t.shape,
      byteLength,
      chunks: () => {
        const values = t.toFloat32();
        addLoraDelta(values, module, adapter.config.r, adapter.scale);
        return [encodeFloats(values, dtype, t.name)];
      },
    };
  });
}
