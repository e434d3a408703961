// onnxruntime-web set up for the studio: its WebGPU build ('onnxruntime-web/webgpu', whose 1.30 bundle embeds
// the JavaScript glue of ort-wasm-simd-threaded.asyncify and loads that .wasm, holding both the WebGPU and the
// CPU execution providers), with the .wasm served by the studio's own origin (it works offline: no CDN), and
// sessions made on WebGPU where the browser gives an adapter, on wasm otherwise.

import * as ort from 'onnxruntime-web/webgpu';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { OnnxExecutionProvider, OnnxRuntimeSupport } from './protocol';

export { ort };

let configured = false;

function configure(): void {
  if (configured) return;
  configured = true;
  // An explicit .wasm location: onnxruntime then uses the glue in its bundle and fetches only this file.
  ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, self.location.href).href };
  // The studio is not cross-origin isolated (no SharedArrayBuffer), so wasm runs on one thread; said here
  // rather than left to onnxruntime's warning and fallback.
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
}

export async function runtimeSupport(): Promise<OnnxRuntimeSupport> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { webgpu: false, shaderF16: false, reason: 'this browser offers no WebGPU in workers' };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { webgpu: false, shaderF16: false, reason: 'navigator.gpu gave no adapter' };
    return { webgpu: true, shaderF16: adapter.features.has('shader-f16') };
  } catch (err) {
    return { webgpu: false, shaderF16: false, reason: `requesting a WebGPU adapter failed: ${(err as Error).message}` };
  }
}

export interface CreatedSession {
  session: ort.InferenceSession;
  executionProvider: OnnxExecutionProvider;
  fallbackReason?: string;
}

/**
 * A session on WebGPU when `support.webgpu`, else (or when that fails) on wasm. The WebGPU attempt lists
 * 'webgpu' alone: given ['webgpu', 'wasm'], onnxruntime drops a WebGPU backend that fails to start with only a
 * console warning, and the page could not say which provider runs. Nodes the WebGPU provider lacks still run
 * on onnxruntime's CPU kernels, which every session has. On WebGPU the KV cache stays on the GPU between steps
 * (present.* kept as GPU buffers, as transformers.js does); the logits come back to the CPU.
 */
export async function createSession(
  model: Uint8Array,
  externalData: { path: string; data: Uint8Array }[],
  support: OnnxRuntimeSupport,
  presentNames: string[],
): Promise<CreatedSession> {
  configure();
  const common: ort.InferenceSession.SessionOptions = { externalData, logSeverityLevel: 3, graphOptimizationLevel: 'all' };
  let fallbackReason = support.webgpu ? undefined : support.reason;
  if (support.webgpu) {
    try {
      const preferredOutputLocation = Object.fromEntries(presentNames.map((name) => [name, 'gpu-buffer' as const]));
      const session = await ort.InferenceSession.create(model, { ...common, executionProviders: ['webgpu'], preferredOutputLocation });
      return { session, executionProvider: 'webgpu' };
    } catch (err) {
      fallbackReason = `the WebGPU session could not be created: ${(err as Error).message}`;
    }
  }
  const session = await ort.InferenceSession.create(model, { ...common, executionProviders: ['wasm'] });
  return { session, executionProvider: 'wasm', fallbackReason };
}
