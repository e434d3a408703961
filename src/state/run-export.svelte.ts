// "Run the export" on an adapter's row: the loaded model + the adapter exported to ONNX by the studio worker,
// loaded into onnxruntime-web in its own worker, then one request answered three ways side by side: the
// engine's base model and base + adapter (ChatApi.compare) and the ONNX export, with a verdict on whether the
// export answers as base + adapter does. One panel's runner lives at a time: opening another closes it.

import { connectOnnxRunner, type OnnxRunnerClient } from '../onnx-runner/client';
import { compareAnswers, type AnswerVerdict } from '../onnx-runner/answer-verdict';
import type { OnnxGenerationResult, OnnxRuntimeSupport, OnnxSessionInfo } from '../onnx-runner/protocol';
import { callback, type StudioClient } from '../worker/client';
import type { GenerationResult, LoadedModelInfo } from '../worker/protocol';
import type { ExportProgress } from '../worker/protocol-export';
import { StreamedAnswer } from './chat-compare.svelte';
import { errorMessage } from './errors';
import { GenerationState } from './generation.svelte';

export type OnnxDtype = 'f32' | 'f16';

/** What the panel is doing: writing the export, loading it into onnxruntime, generating the three answers. */
export type RunExportPhase = 'idle' | 'exporting' | 'loading' | 'generating';

/** How long the verdict waits for the engine's last streamed steps (they travel on their own channel). */
const STEPS_WAIT_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RunExportState {
  /** The panel whose runner is alive (one onnxruntime worker for the whole page). */
  private static current: RunExportState | null = null;

  readonly settings: GenerationState;
  readonly base = new StreamedAnswer();
  readonly adapted = new StreamedAnswer();
  readonly exported = new StreamedAnswer();

  open = $state(false);
  dtype = $state<OnnxDtype>('f32');
  support = $state.raw<OnnxRuntimeSupport | null>(null);
  phase = $state<RunExportPhase>('idle');
  progress = $state.raw<ExportProgress | null>(null);
  /** The loaded session, with the precision it was exported at. */
  session = $state.raw<(OnnxSessionInfo & { dtype: OnnxDtype }) | null>(null);
  error = $state<string | null>(null);
  verdict = $state.raw<AnswerVerdict | null>(null);

  /** fp16 runs on WebGPU only with shader-f16; on wasm onnxruntime's CPU kernels run it. */
  readonly f16Offered = $derived(this.support !== null && (!this.support.webgpu || this.support.shaderF16 || this.session?.executionProvider === 'wasm'));
  readonly running = $derived(this.phase !== 'idle');

  private runner: OnnxRunnerClient | null = null;
  private runId = 0;

  constructor(
    private readonly client: StudioClient,
    readonly adapter: { id: string; name: string },
    readonly model: LoadedModelInfo,
  ) {
    this.settings = new GenerationState(client);
    this.settings.reset(model.hasChatTemplate);
    this.settings.applyDefaults(model.generationDefaults);
    // Greedy by default: the texts then must agree exactly.
    this.settings.temperature = 0;
    this.settings.maxNewTokens = 32;
  }

  /** Opens the panel (closing any other) and asks its runner what this browser offers. */
  async show(): Promise<void> {
    if (this.open) return;
    if (RunExportState.current && RunExportState.current !== this) await RunExportState.current.close();
    RunExportState.current = this;
    this.open = true;
    this.error = null;
    const runner = this.ensureRunner();
    try {
      const support = await runner.call((api) => api.support());
      if (this.runner === runner) this.support = support;
    } catch (err) {
      if (this.runner === runner) this.error = errorMessage(err);
    }
  }

  /** Closes the panel: stops what runs and ends the runner (its session, wasm memory and GPU device). */
  async close(): Promise<void> {
    if (RunExportState.current === this) RunExportState.current = null;
    const wasGenerating = this.phase === 'generating';
    this.runId++;
    this.open = false;
    this.phase = 'idle';
    this.progress = null;
    this.session = null;
    this.runner?.terminate();
    this.runner = null;
    // The engine's comparison would otherwise run on for a panel nobody sees.
    if (wasGenerating) await this.client.call((api) => api.stopGeneration()).catch(() => undefined);
  }

  private ensureRunner(): OnnxRunnerClient {
    this.runner ??= connectOnnxRunner();
    return this.runner;
  }

  /** Exports and loads when needed (a new precision), then answers the prompt three ways. */
  async run(): Promise<void> {
    if (this.running || !this.open) return;
    const problem = this.settings.problem() ?? (this.dtype === 'f16' && !this.f16Offered ? 'fp16 needs a GPU with shader-f16 here: choose fp32.' : null);
    if (problem) {
      this.error = problem;
      return;
    }
    const runId = ++this.runId;
    const live = () => runId === this.runId;
    this.error = null;
    this.verdict = null;
    for (const answer of [this.base, this.adapted, this.exported]) answer.reset();
    try {
      const runner = this.ensureRunner();
      if (this.session?.dtype !== this.dtype) await this.exportAndLoad(runner, live);
      if (!live()) return;
      this.phase = 'generating';
      await this.answer(runner, live);
    } catch (err) {
      if (live()) this.error = errorMessage(err);
    } finally {
      if (live()) {
        this.phase = 'idle';
        this.progress = null;
      }
    }
  }

  private async exportAndLoad(runner: OnnxRunnerClient, live: () => boolean): Promise<void> {
    const dtype = this.dtype;
    this.session = null;
    this.phase = 'exporting';
    this.progress = null;
    const onProgress = callback((p: ExportProgress) => {
      if (live()) this.progress = p;
    });
    const exported = await this.client.call((api) => api.exportOnnxFiles(this.adapter.id, dtype, onProgress));
    if (!live()) return;
    this.phase = 'loading';
    const info = await runner.call((api) => api.load({ files: exported.files, modelPath: exported.modelPath }));
    if (live()) this.session = { ...info, dtype };
  }

  private async answer(runner: OnnxRunnerClient, live: () => boolean): Promise<void> {
    const request = this.settings.request();
    // The engine's text after each of its adapted tokens, for the token-by-token verdict.
    const steps: (string | undefined)[] = [];
    const onBase = callback((text: string, n: number) => {
      if (live()) this.base.update(text, n);
    });
    const onAdapted = callback((text: string, n: number) => {
      steps[n - 1] = text;
      if (live() && !this.adapted.result) this.adapted.update(text, n);
    });
    const onExported = callback((text: string, n: number) => {
      if (live() && !this.exported.result) this.exported.update(text, n);
    });
    // The engine's two passes and the export run at once, each in its own worker.
    const [engine, onnx] = await Promise.allSettled([
      this.client.call((api) => api.compare(request, this.adapter.id, onBase, onAdapted)),
      runner.call((api) => api.generate(request, onExported)),
    ]);
    if (!live()) return;
    if (engine.status === 'fulfilled') {
      this.base.finish(engine.value.base);
      this.adapted.finish(engine.value.adapted);
    }
    if (onnx.status === 'fulfilled') this.exported.finish(onnx.value);
    const failures = [
      engine.status === 'rejected' ? `The engine: ${errorMessage(engine.reason)}` : null,
      onnx.status === 'rejected' ? `onnxruntime: ${errorMessage(onnx.reason)}` : null,
    ].filter((f): f is string => f !== null);
    if (failures.length > 0) throw new Error(failures.join(' '));
    if (engine.status !== 'fulfilled' || onnx.status !== 'fulfilled') return;
    await this.waitForSteps(steps, engine.value.adapted.newTokens, live);
    if (live()) this.verdict = this.judge(engine.value.adapted, steps, onnx.value);
  }

  /** Streamed steps may arrive after the final answer: wait a little for the ones still missing. */
  private async waitForSteps(steps: readonly (string | undefined)[], n: number, live: () => boolean): Promise<void> {
    const missing = () => Array.from({ length: n - 1 }, (_, k) => steps[k] === undefined).some(Boolean);
    for (let waited = 0; missing() && waited < STEPS_WAIT_MS && live(); waited += 20) await sleep(20);
  }

  private judge(adapted: GenerationResult, steps: readonly (string | undefined)[], onnx: OnnxGenerationResult): AnswerVerdict {
    return compareAnswers(
      { text: adapted.text, newTokens: adapted.newTokens, steps, stopped: adapted.stopReason === 'aborted' },
      { text: onnx.text, tokens: onnx.tokens, pieces: onnx.pieces, stopped: onnx.stopReason === 'aborted' },
    );
  }

  /** Stops the three answers where they are. */
  async stop(): Promise<void> {
    if (this.phase !== 'generating') return;
    await Promise.all([this.client.call((api) => api.stopGeneration()), this.runner?.call((api) => api.stop())]);
  }
}
