#!/usr/bin/env node
// Tunelab benchmark: the adapter, its measured compute peak and copy bandwidth, our matmul on square and
// LLM shapes, and the same products through a peer (TensorFlow.js's WebGPU backend) on the same adapter;
// with --train (or --full) also LoRA training throughput (SFT on the chosen answers, DPO with a cached
// reference and with the reference pass in the step, and DPO's step cost against SFT's) on stories260K and a
// SmolLM2-135M-shaped model; with --eval (or --full) multiple-choice scoring items/s on the same two models,
// with the shared context and from scratch, and the shared context's speed-up; with --grpo (or --full) GRPO
// steps' rollout and training tokens/s and the share of the step spent generating.
//
//   npm run bench                       headless Chromium (/usr/bin/chromium, --enable-unsafe-webgpu)
//   npm run -s bench -- --json          one JSON object on stdout (progress goes to stderr; -s keeps npm's
//                                       own "> tunelab@... bench" banner off stdout)
//   npm run bench -- --node             our side on dawn.node (npm "webgpu"); Vulkan driver from
//                                       scripts/gpu-env.sh (SwiftShader unless TUNELAB_VK_ICD is set)
//   npm run bench -- --node --system-vulkan   dawn.node on the system's Vulkan drivers (real GPUs)
//   npm run bench -- --node --train     + training tokens/s and model FLOP/s (bench/core/train-bench.ts)
//   npm run bench -- --node --grpo      + GRPO rollout / training tokens/s (bench/core/grpo-bench.ts)
//   more: --help
//
// A Vite dev server (inline config, no vite.config.ts) serves bench/index.html + bench/browser/*.ts to the
// page, and in --node mode loads the same TypeScript (bench/core/*.ts, ?raw WGSL imports) through
// ssrLoadModule.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { grpoJson, grpoReport } from './grpo-report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const startedAt = Date.now();

const HELP = `usage: npm run bench -- [options]
  --json              print exactly one JSON object on stdout (progress on stderr); use npm run -s, since
                      npm itself prints a banner on stdout
  --out=FILE          also write that JSON object to FILE
  --node              run our side on dawn.node instead of Chromium (the peer is browser-only)
  --system-vulkan     with --node: use the system's Vulkan drivers, not scripts/gpu-env.sh's choice
  --no-peer           skip TensorFlow.js
  --no-f16            skip the packed-f16 B rows
  --no-peak, --no-copy
  --shapes=0,2,4      only these matmul shapes (0: 512^3, 1: 1024^3, 2: 512x576x1536, 3: 512x1536x576,
                      4: 512x576x49152)
  --variants          also time every kernel variant our dispatcher offers on this device (slow)
  --full              never skip a product for being slow (default: skip when one product is projected
                      to take longer than --max-run seconds from the rate measured on smaller shapes);
                      includes --train, --eval and --grpo
  --max-run=S         that projection limit (default 120: every product of the default set runs on SwiftShader)
  --budget=S          seconds of timed repetitions per product after its warm-up (default 3)
  --chromium=PATH     browser binary (default /usr/bin/chromium or $TUNELAB_CHROMIUM)
training section (after the matmuls, same device; any option below implies --train):
  --train             LoRA steps (f16 base weights, AdamW, random token ids, one submit per step) on
                      stories260K and a random model of SmolLM2-135M's shape: tokens/s, model FLOP/s
                      (4N + 6LCT per token) and their fraction of the peak and of the best matmul above,
                      for SFT on the chosen answers and DPO (cached reference / reference pass in the step),
                      with each DPO step's cost in SFT steps against issue 9's limits (2.3x / 3.3x)
  --train-models=LIST stories260K,smollm2-135m (default both)
  --train-objectives=LIST  sft,dpo-cached,dpo-ref (default all three; the DPO / SFT ratios need sft)
  --train-seq=T       tokens per sequence, a prompt of about T/4 and the answer (default 256)
  --train-batch=B[,B] sequences (DPO: pairs) per step: stories260K[,SmolLM2 shape] (default 8,1)
  --train-warmup=W[,W] untimed steps first, per objective (default 2,1)
  --train-steps=N     at most N timed steps per model and objective (default 10)
  --train-budget=S    seconds of timed steps per objective: a model's timed rounds (one step of each
                      objective, interleaved) stop when the next would end after S x objectives
                      (default 30; at least one round is timed)
  --lora-r=R --lora-alpha=A   (default 8, 16)
  --lora-targets=LIST PEFT target_modules or all-linear (default q_proj,v_proj)
eval section (after training, same device; any option below implies --eval):
  --eval              multiple-choice scoring (scoreContinuations, f16 weights) of random HellaSwag-shaped
                      items (context 64-96 tokens, 4 endings of 12-32) on stories260K and a random model of
                      SmolLM2-135M's shape: items/s with the shared context (computed once per item) and
                      from scratch (every choice), interleaved rounds, and the speed-up shared / scratch
  --eval-models=LIST  stories260K,smollm2-135m (default both)
  --eval-items=N[,N]  items per run: stories260K[,SmolLM2 shape] (default 32,8)
  --eval-batch-tokens=N  KV positions per batch, one submit each (default 2048)
  --eval-rounds=N     at most N timed rounds of one run per mode (default 5)
  --eval-budget=S     seconds of timed runs per mode (default 60; at least one round)
grpo section (after eval, same device; any option below implies --grpo):
  --grpo              GRPO steps through the product path (runGrpoTraining, rollouts sampled from the GPU
                      model with the training adapter attached, built-in rewards, LoRA r 8 on q_proj,v_proj)
                      on stories260K and a random model of SmolLM2-135M's shape: rollout tokens/s, training
                      tokens/s without the rollouts, the shares of the step spent generating and in the
                      rewards, and rollout tokens/s against greedy generate() of the same prompts
  --grpo-models=LIST  stories260K,smollm2-135m (default both)
  --grpo-prompts=N[,N]  prompts per step: stories260K[,SmolLM2 shape] (default 2,1)
  --grpo-generations=G  completions per prompt, num_generations (default 4)
  --grpo-prompt-tokens=P  random prompt ids per prompt, BOS first (default 8)
  --grpo-completion=L[,L]  max_completion_length: stories260K[,SmolLM2 shape] (default 32,8)
  --grpo-warmup=W[,W] untimed GRPO steps first (default 1,1)
  --grpo-steps=N[,N]  timed GRPO steps (default 3,1)
  --grpo-reward=SPEC  reward functions in --reward syntax, built-ins only (default length=20)
  --models=DIR        folder holding stories260K/ (default $TUNELAB_MODELS, else ../shared/assets/models)`;

const TRAIN_IDS = ['stories260K', 'smollm2-135m'];
const TRAIN_OBJECTIVES = ['sft', 'dpo-cached', 'dpo-ref'];

function parseArgs(argv) {
  const a = {
    json: false,
    node: false,
    systemVulkan: false,
    peer: true,
    help: false,
    chromium: process.env.TUNELAB_CHROMIUM || '/usr/bin/chromium',
    out: '',
    modelsDir: process.env.TUNELAB_MODELS || resolve(root, '../shared/assets/models'),
    options: {},
    /** Overrides of DEFAULT_OPTIONS.train (merged field by field). */
    train: {},
    /** Overrides of DEFAULT_OPTIONS.eval. */
    eval: {},
    /** Overrides of DEFAULT_OPTIONS.grpo. */
    grpo: {},
  };
  const o = a.options;
  const t = a.train;
  const e = a.eval;
  const g = a.grpo;
  for (const arg of argv) {
    const [key, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, ''];
    const num = () => {
      const v = Number(value);
      if (!value || !Number.isFinite(v) || v <= 0) throw new Error(`${key} needs a positive number, e.g. ${key}=10`);
      return v;
    };
    const int = () => {
      const v = num();
      if (!Number.isInteger(v)) throw new Error(`${key} needs a whole number, got ${value}`);
      return v;
    };
    /** "8,1": one value per model of TRAIN_IDS (one value: all of them); `min` 0 allows zero. */
    const perModel = (min) => {
      const parts = value.split(',');
      if (!value || parts.length > TRAIN_IDS.length) throw new Error(`${key} takes 1 or ${TRAIN_IDS.length} whole numbers (${TRAIN_IDS.join(', ')}), e.g. ${key}=8,1`);
      const vs = parts.map((p) => {
        const v = Number(p);
        if (!p || !Number.isInteger(v) || v < min) throw new Error(`${key}: ${JSON.stringify(p)} is not a whole number >= ${min}`);
        return v;
      });
      return Object.fromEntries(TRAIN_IDS.map((id, i) => [id, vs[Math.min(i, vs.length - 1)]]));
    };
    const list = () => {
      const items = value.split(',').map((x) => x.trim()).filter(Boolean);
      if (items.length === 0) throw new Error(`${key} needs a comma-separated list`);
      return items;
    };
    if (key.startsWith('--train') || key.startsWith('--lora-')) t.enabled = true;
    if (key.startsWith('--eval')) e.enabled = true;
    if (key.startsWith('--grpo')) g.enabled = true;
    switch (key) {
      case '--json': a.json = true; break;
      case '--node': a.node = true; break;
      case '--system-vulkan': a.systemVulkan = true; break;
      case '--no-peer': a.peer = false; break;
      case '--no-f16': o.f16 = false; break;
      case '--no-peak': o.skipPeak = true; break;
      case '--no-copy': o.skipCopy = true; break;
      case '--variants': o.variants = true; break;
      case '--full': o.maxRunS = Infinity; t.enabled = true; e.enabled = true; g.enabled = true; break;
      case '--train': break;
      case '--train-models':
        t.models = list().map((m) => {
          const id = TRAIN_IDS.find((x) => x.toLowerCase() === m.toLowerCase());
          if (!id) throw new Error(`--train-models: unknown model ${m} (known: ${TRAIN_IDS.join(', ')})`);
          return id;
        });
        break;
      case '--train-objectives':
        t.objectives = list().map((m) => {
          if (!TRAIN_OBJECTIVES.includes(m)) throw new Error(`--train-objectives: unknown objective ${m} (known: ${TRAIN_OBJECTIVES.join(', ')})`);
          return m;
        });
        break;
      case '--train-seq': t.seqLen = int(); break;
      case '--train-batch': t.batch = perModel(1); break;
      case '--train-warmup': t.warmup = perModel(0); break;
      case '--train-steps': t.maxSteps = int(); break;
      case '--train-budget': t.budgetS = num(); break;
      case '--lora-r': t.loraR = int(); break;
      case '--lora-alpha': t.loraAlpha = num(); break;
      case '--lora-targets': t.loraTargets = list(); break;
      case '--eval': break;
      case '--eval-models':
        e.models = list().map((m) => {
          const id = TRAIN_IDS.find((x) => x.toLowerCase() === m.toLowerCase());
          if (!id) throw new Error(`--eval-models: unknown model ${m} (known: ${TRAIN_IDS.join(', ')})`);
          return id;
        });
        break;
      case '--eval-items': e.items = perModel(1); break;
      case '--eval-batch-tokens': e.batchTokens = int(); break;
      case '--eval-rounds': e.maxRounds = int(); break;
      case '--eval-budget': e.budgetS = num(); break;
      case '--grpo': break;
      case '--grpo-models':
        g.models = list().map((m) => {
          const id = TRAIN_IDS.find((x) => x.toLowerCase() === m.toLowerCase());
          if (!id) throw new Error(`--grpo-models: unknown model ${m} (known: ${TRAIN_IDS.join(', ')})`);
          return id;
        });
        break;
      case '--grpo-prompts': g.prompts = perModel(1); break;
      case '--grpo-generations':
        g.generations = int();
        // TRL: GRPO needs at least 2 generations per prompt for the advantages.
        if (g.generations < 2) throw new Error('--grpo-generations must be at least 2');
        break;
      case '--grpo-prompt-tokens': g.promptTokens = int(); break;
      case '--grpo-completion': g.completionTokens = perModel(1); break;
      case '--grpo-warmup': g.warmup = perModel(0); break;
      case '--grpo-steps': g.steps = perModel(1); break;
      case '--grpo-reward':
        if (!value) throw new Error('--grpo-reward needs reward specs, e.g. --grpo-reward=length=20');
        g.reward = value;
        break;
      case '--models':
        if (!value) throw new Error('--models needs a folder, e.g. --models=../shared/assets/models');
        a.modelsDir = resolve(value);
        break;
      case '--max-run': o.maxRunS = num(); break;
      case '--budget': o.budgetS = num(); break;
      case '--chromium': a.chromium = value; break;
      case '--out':
        if (!value) throw new Error('--out needs a file name, e.g. --out=bench/results/latest.json');
        a.out = value;
        break;
      case '--shapes':
        o.shapes = value.split(',').filter(Boolean).map((s) => {
          const i = Number(s);
          if (!Number.isInteger(i) || i < 0 || i > 4) throw new Error(`--shapes takes indices 0..4, got ${s}`);
          return i;
        });
        break;
      case '--help': case '-h': a.help = true; break;
      default: throw new Error(`unknown option ${arg} (see --help)`);
    }
  }
  return a;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`bench: ${err.message}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

// dawn.node reads the Vulkan driver location at process start: re-run through scripts/gpu-env.sh.
if (args.node && !args.systemVulkan && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
  const child = spawnSync('bash', [join(root, 'scripts/gpu-env.sh'), process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const progress = (line) => process.stderr.write(`${line}\n`);

// Browser and profile clean-up, also on Ctrl-C, SIGTERM and the watchdog.
const cleanups = new Set();
async function cleanUpAndExit(code, why) {
  if (why) console.error(`bench: ${why}`);
  const all = Promise.allSettled([...cleanups].map((f) => f()));
  await Promise.race([all, new Promise((r) => setTimeout(r, 5000))]);
  process.exit(code);
}
process.once('SIGINT', () => void cleanUpAndExit(130, 'interrupted'));
process.once('SIGTERM', () => void cleanUpAndExit(143, 'terminated'));
// Every measurement has its own deadline; this only catches what they cannot (a hung page, say). Training
// adds its own deadlines: 900 s per model and objective (train-bench.ts, DEADLINE_PER_OBJECTIVE_S).
const trainObjectives = args.train.enabled ? (args.train.models ?? TRAIN_IDS).length * (args.train.objectives ?? TRAIN_OBJECTIVES).length : 0;
const evalModels = args.eval.enabled ? (args.eval.models ?? TRAIN_IDS).length : 0;
const grpoModels = args.grpo.enabled ? (args.grpo.models ?? TRAIN_IDS).length : 0;
// GRPO: 1200 s per model (grpo-bench.ts, GRPO_DEADLINE_S).
const WATCHDOG_S = 1800 + 900 * trainObjectives + 1800 * evalModels + 1200 * grpoModels;
setTimeout(() => void cleanUpAndExit(1, `gave up after ${WATCHDOG_S} s`), WATCHDOG_S * 1000).unref();

const { createServer } = await import('vite');

/**
 * The offline model folder (scripts/offline-models.ts, as `npm start -- --models DIR` serves it), so the
 * bench page reads stories260K like the studio does. The handler is TypeScript, loaded through Vite itself.
 */
function offlineModelsRoute(dir) {
  return {
    name: 'tunelab-bench-offline-models',
    configureServer(server) {
      let handler;
      server.middlewares.use((req, res, next) => {
        if (!req.url?.startsWith('/__tunelab/')) return next();
        handler ??= server.ssrLoadModule('/scripts/offline-models.ts').then((m) => m.offlineModelsHandler(dir));
        handler.then((h) => h(req, res, next), next);
      });
    },
  };
}

async function startVite(listen) {
  const server = await createServer({
    configFile: false,
    root,
    logLevel: 'error',
    clearScreen: false,
    // Our own dependency cache, apart from the studio's.
    cacheDir: join(root, 'node_modules/.vite-bench'),
    plugins: [offlineModelsRoute(args.modelsDir)],
    server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null },
    optimizeDeps: {
      entries: ['bench/index.html'],
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'],
    },
  });
  if (listen) await server.listen();
  return server;
}

async function runInChromium(server, options) {
  const { chromium } = await import('playwright-core');
  if (!existsSync(args.chromium)) throw new Error(`no browser at ${args.chromium} (apt-get install chromium, or --chromium=PATH)`);
  const userDataDir = await mkdtemp(join(tmpdir(), 'tunelab-bench-'));
  const removeProfile = () => rm(userDataDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  cleanups.add(removeProfile);
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: args.chromium,
    headless: true,
    args: [
      '--enable-unsafe-webgpu',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const closeBrowser = () => context.close().catch(() => {});
  cleanups.add(closeBrowser);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (msg) => {
      const text = msg.text();
      if (text.startsWith('[bench] ')) progress(text.slice(8));
      else if (msg.type() === 'error') progress(`page: ${text}`);
    });
    page.on('pageerror', (err) => progress(`page error: ${err.message}`));
    const base = server.resolvedUrls?.local?.[0];
    if (!base) throw new Error('the Vite server did not report a local URL');
    await page.goto(new URL('bench/index.html', base).href);
    await page.waitForFunction(() => Boolean(window.tunelabBench), null, { timeout: 60_000 });
    const ours = await page.evaluate((o) => window.tunelabBench.ours(o), options);
    let peer;
    if (args.peer) {
      try {
        peer = await page.evaluate((o) => window.tunelabBench.peer(o), options);
      } catch (err) {
        peer = { name: 'TensorFlow.js WebGPU backend', available: false, error: String(err.message ?? err), matmul: [] };
      }
    } else {
      peer = { name: 'TensorFlow.js WebGPU backend', available: false, error: 'skipped (--no-peer)', matmul: [] };
    }
    return { ours, peer };
  } finally {
    await closeBrowser();
    cleanups.delete(closeBrowser);
    await removeProfile();
    cleanups.delete(removeProfile);
  }
}

async function runInNode(server, options) {
  const require = createRequire(import.meta.url);
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const version = require('webgpu/package.json').version;
  const icd = process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || 'system Vulkan drivers';
  const suite = await server.ssrLoadModule('/bench/core/suite.ts');
  const { DirectorySource } = await server.ssrLoadModule('/src/node/directory-source.ts');
  const storiesDir = join(args.modelsDir, 'stories260K');
  const trainSources = { stories260K: { source: () => new DirectorySource(storiesDir), where: storiesDir } };
  const ours = await suite.runOurs(gpu, options, `dawn.node (npm webgpu ${version}; Vulkan: ${icd})`, progress, trainSources);
  const peer = { name: 'TensorFlow.js WebGPU backend', available: false, error: 'not available in Node', matmul: [] };
  return { ours, peer };
}

// ---------------------------------------------------------------------------------------------------
// Report

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|cpu/i;

function isSoftware(adapter) {
  if (!adapter) return false;
  return adapter.isFallbackAdapter || SOFTWARE.test(`${adapter.architecture} ${adapter.description} ${adapter.device}`);
}

function mergeRows(ours, peer, peak) {
  const peerBy = new Map(peer.matmul.map((p) => [`${p.m}x${p.k}x${p.n}`, p]));
  const rows = ours.matmul.map((o) => {
    const p = peerBy.get(`${o.m}x${o.k}x${o.n}`);
    const row = {
      m: o.m,
      k: o.k,
      n: o.n,
      b_format: o.b_format,
      variant: o.variant,
      kernel: o.kernel ?? null,
      gflops: o.gflops,
      peer_gflops: p?.gflops ?? null,
      fraction_of_peak: o.gflops !== null && peak ? o.gflops / peak : null,
      peer_fraction_of_peak: p?.gflops != null && peak ? p.gflops / peak : null,
      ratio: o.gflops !== null && p?.gflops ? o.gflops / p.gflops : null,
      best_ms: o.timing ? o.timing.bestS * 1e3 : null,
      median_ms: o.timing ? o.timing.medianS * 1e3 : null,
      samples: o.timing?.samples.length ?? 0,
      r: o.timing?.r ?? null,
      warmup_s: o.timing?.warmupS ?? null,
      max_rel_err: o.max_rel_err ?? null,
      ok: o.ok ?? null,
      peer_best_ms: p?.timing ? p.timing.bestS * 1e3 : null,
      peer_max_rel_err: p?.max_rel_err ?? null,
      peer_ok: p?.ok ?? null,
    };
    if (o.b_format === 'f16') row.peer_b_format = 'f32 (tfjs has no packed-f16 weights)';
    if (o.skipped) row.skipped = o.skipped;
    if (o.error) row.error = o.error;
    if (p?.skipped) row.peer_skipped = p.skipped;
    if (p?.error) row.peer_error = p.error;
    return row;
  });
  // Peer rows whose shape we did not run (our dispatcher missing): keep them visible.
  for (const p of peer.matmul) {
    if (!rows.some((r) => r.m === p.m && r.k === p.k && r.n === p.n)) {
      rows.push({
        m: p.m, k: p.k, n: p.n, b_format: 'f32', variant: null, gflops: null, peer_gflops: p.gflops,
        fraction_of_peak: null, peer_fraction_of_peak: p.gflops != null && peak ? p.gflops / peak : null, ratio: null,
        peer_best_ms: p.timing ? p.timing.bestS * 1e3 : null, peer_max_rel_err: p.max_rel_err ?? null, peer_ok: p.ok ?? null,
        ...(p.skipped ? { peer_skipped: p.skipped } : {}), ...(p.error ? { peer_error: p.error } : {}),
        error: 'not run by ours',
      });
    }
  }
  return rows;
}

const TIMING_NOTE =
  'wall clock from submit to queue.onSubmittedWorkDone(); warm-up run (pipeline compilation, uploads) excluded; ' +
  'r products per timed repetition; best (minimum) time per product over the repetitions is reported, the median is in --json; ' +
  'peer: inputs uploaded during its warm-up, no readback timed.';

const TRAIN_FLOPS_NOTE =
  'model FLOPs per token = 4N + 6·L·C·T (frozen base + LoRA: forward 2N, backward to the activations 2N, attention 6·L·C·T); ' +
  'N = weights of every linear layer plus the LM head (V·C, once even when tied); the input embedding (a gather), norms and biases are not counted; ' +
  "LoRA's own products (lora_flops_per_token) are not counted either; DPO's reference pass in the step adds a forward, 2N + 2·L·C·T per token. " +
  'model FLOP/s = FLOPs per token x tokens/s, tokens = sequences x T per step (every input position computed, prompts included; DPO: 2 sequences per pair; ' +
  'the reference pass reads the same positions again and is not counted twice).';

const TRAIN_TIMING_NOTE =
  'warm-up steps untimed; each timed step = record (JavaScript: packing, recording dispatches, input writes) + submit (StepEncoder.submit: ' +
  'pipelines, bind groups, encoding, queue.submit, error scopes) + wait (until loss and gradient norm are read back); the next step starts after ' +
  'the readback, as in the training loop; tokens/s uses the mean step time. Warm-up per objective; then timed rounds of one step per objective, interleaved, ' +
  "so a loaded machine's drift weighs on every objective alike. DPO with a cached reference: the reference's summed answer log-probabilities are computed " +
  'before each step (untimed, as the loop precomputes them before training). Step ratios DPO / SFT: mean step / mean step (median / median and best / best beside).';

const DPO_COST_NOTE =
  'issue 9: a DPO step with cached reference log-probabilities costs at most 2.3x an SFT step on the chosen answers alone (same model, B, T; ' +
  'DPO trains B pairs = 2B sequences), and at most 3.3x with the reference pass in the step; step_ratio = mean DPO step / mean SFT step of this run ' +
  '(the verdict), median_step_ratio and best_step_ratio (fastest over fastest) beside it.';

/** Our fastest matmul row of this run (any shape, B format, variant). */
function bestMatmul(rows) {
  let best = null;
  for (const r of rows) if (r.gflops !== null && (r.ok ?? true) && (!best || r.gflops > best.gflops)) best = r;
  return best;
}

function trainJson(ours, peak) {
  if (!ours.train?.length) return null;
  const best = bestMatmul(ours.matmul);
  const ratio = (v, of) => (v != null && of ? v / of : null);
  return {
    peak_gflops: peak,
    best_matmul_gflops: best?.gflops ?? null,
    best_matmul: best ? `${best.m}x${best.k}x${best.n} B ${best.b_format}${best.variant === 'auto' ? '' : ` [${best.variant}]`}` : null,
    flops: TRAIN_FLOPS_NOTE,
    timing: TRAIN_TIMING_NOTE,
    runs: ours.train.map((r) => ({
      model: r.model,
      objective: r.objective,
      objective_label: r.objectiveLabel,
      description: r.description,
      shape: r.shape ?? null,
      method: r.method ?? null,
      weight_format: r.weightFormat,
      weight_bytes: r.weightBytes ?? null,
      load_s: r.loadS ?? null,
      lora_params: r.loraParams ?? null,
      seq_len: r.seqLen,
      batch: r.batch,
      sequences: r.sequences,
      prompt_tokens: r.promptTokens,
      reference_pass: r.referencePass,
      tokens_per_step: r.tokensPerStep,
      trained_tokens_per_step: r.trainedTokensPerStep,
      matmul_params: r.matmulParams ?? null,
      flops_per_token: r.flopsPerToken ?? null,
      lora_flops_per_token: r.loraFlopsPerToken ?? null,
      warmup_steps: r.warmupSteps,
      warmup_s: r.warmupS ?? null,
      step_s: r.stepS,
      mean_step_s: r.meanStepS ?? null,
      median_step_s: r.medianStepS ?? null,
      best_step_s: r.bestStepS ?? null,
      record_s: r.breakdown?.recordS ?? null,
      submit_s: r.breakdown?.submitS ?? null,
      wait_s: r.breakdown?.waitS ?? null,
      dispatches_per_step: r.dispatchesPerStep ?? null,
      pipelines_compiled_while_timed: r.pipelinesCompiledWhileTimed ?? null,
      tokens_per_s: r.tokensPerS ?? null,
      model_gflops: r.modelGflops ?? null,
      fraction_of_peak: ratio(r.modelGflops, peak),
      fraction_of_best_matmul: ratio(r.modelGflops, best?.gflops),
      loss_first: r.lossFirst ?? null,
      loss_last: r.lossLast ?? null,
      ...(r.error ? { error: r.error } : {}),
    })),
    dpo_cost_note: DPO_COST_NOTE,
    dpo_cost: (ours.trainDpoCost ?? []).map((c) => ({
      model: c.model,
      objective: c.objective,
      seq_len: c.seqLen,
      batch: c.batch,
      sft_tokens_per_s: c.sftTokensPerS,
      dpo_tokens_per_s: c.dpoTokensPerS,
      step_ratio: c.ratio,
      median_step_ratio: c.medianRatio,
      best_step_ratio: c.bestRatio,
      limit: c.limit,
      ok: c.ok,
    })),
  };
}

const EVAL_NOTE =
  'one run = scoreContinuations over all items (random ids, HellaSwag shape: context 64-96 tokens, 4 endings of 12-32), f16 weights, ' +
  'batches of batch_tokens KV positions with one queue submit each; shared: each context computed once and its KV rows copied to every ending; ' +
  "scratch: context + ending per choice (lm-evaluation-harness's way); a warm-up run of each mode, then timed rounds of one run per mode, interleaved; " +
  'items/s = items / mean run time; speedup = mean scratch run / mean shared run (best_speedup: fastest over fastest).';

function evalJson(ours) {
  if (!ours.eval?.length) return null;
  return {
    note: EVAL_NOTE,
    runs: ours.eval.map((r) => ({
      model: r.model,
      description: r.description,
      items: r.items,
      choices: r.choices,
      batch_tokens: r.batchTokens,
      batches_per_run: r.batches,
      submits_per_batch: r.submitsPerBatch,
      rows_shared: r.rowsShared,
      rows_scratch: r.rowsScratch,
      load_s: r.loadS ?? null,
      warmup_s: r.warmupS ?? null,
      shared_s: r.sharedS,
      scratch_s: r.scratchS,
      shared_items_per_s: r.sharedItemsPerS ?? null,
      scratch_items_per_s: r.scratchItemsPerS ?? null,
      speedup: r.speedup ?? null,
      best_speedup: r.bestSpeedup ?? null,
      ...(r.error ? { error: r.error } : {}),
    })),
  };
}

function evalReport(json) {
  const rows = json.eval.runs.map((r) => [
    r.model,
    `${r.items} x 4`,
    `${r.rows_shared} / ${r.rows_scratch}`,
    r.error ? 'error' : fmt(r.shared_items_per_s),
    fmt(r.scratch_items_per_s),
    r.speedup === null ? '-' : `${fmt(r.speedup)}x`,
    r.best_speedup === null ? '-' : `${fmt(r.best_speedup)}x`,
    `${r.batches_per_run} x ${fmt(r.submits_per_batch, 0)}`,
  ]);
  const out = [
    'eval  multiple-choice scoring, shared context vs every choice from scratch' + (json.note ? '   [SOFTWARE ADAPTER: not GPU speed]' : ''),
    table(['model', 'items', 'rows shared / scratch', 'items/s shared', 'items/s scratch', 'speed-up', 'best speed-up', 'batches x submits'], rows),
  ];
  for (const r of json.eval.runs) {
    const rounds = r.shared_s.length
      ? `; ${r.shared_s.length} timed round(s): shared ${r.shared_s.map((s) => s.toFixed(2)).join(', ')} s, scratch ${r.scratch_s.map((s) => s.toFixed(2)).join(', ')} s`
      : '';
    out.push(`${r.model}: ${r.description}${rounds}`);
    if (r.error) out.push(`  error: ${r.error}`);
  }
  out.push(`eval: ${json.eval.note}`);
  return out;
}

function buildJson(result) {
  const { ours, peer } = result;
  const peak = ours.peak?.gflops ?? null;
  return {
    adapter: ours.adapter,
    peak_gflops: peak,
    copy_gbps: ours.copy?.gbps ?? null,
    matmul: mergeRows(ours, peer, peak),
    peak: ours.peak,
    copy: ours.copy,
    peer: { name: peer.name, available: peer.available, error: peer.error ?? null, adapter: peer.adapter ?? null },
    software_adapter: isSoftware(ours.adapter),
    note: isSoftware(ours.adapter)
      ? 'software adapter (CPU emulation): absolute figures are not GPU speed; ratios are what matter'
      : null,
    timing: TIMING_NOTE,
    train: trainJson(ours, peak),
    eval: evalJson(ours),
    grpo: grpoJson(ours),
    errors: ours.errors,
    elapsed_s: (Date.now() - startedAt) / 1000,
  };
}

const fmt = (v, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const pct = (v) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i < 3 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** 1234567 -> "1.23M" */
function si(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  const units = [[1e9, 'G'], [1e6, 'M'], [1e3, 'K']];
  for (const [scale, unit] of units) if (Math.abs(v) >= scale) return `${(v / scale).toPrecision(4)}${unit}`;
  return String(v);
}

function trainReport(json) {
  const t = json.train;
  const out = [];
  const methods = [...new Set(t.runs.map((r) => r.method).filter(Boolean))];
  out.push('training  LoRA SFT and DPO on the GPU trainer, f16 base weights, random token ids, one submit per step' + (json.note ? '   [SOFTWARE ADAPTER: not GPU speed]' : ''));
  for (const m of methods) out.push(`          ${m}`);
  out.push(
    `          peak ${fmt(t.peak_gflops)} GFLOP/s; best matmul ${fmt(t.best_matmul_gflops)} GFLOP/s` + (t.best_matmul ? ` (${t.best_matmul}), both measured above in this run` : ''),
  );
  const rows = t.runs.map((r) => {
    const b = r.mean_step_s ? [r.record_s, r.submit_s, r.wait_s].map((x) => (x * 1e3).toFixed(1)).join(' / ') : '-';
    return [
      r.model,
      r.objective,
      `${r.sequences} x ${r.seq_len}`,
      si(r.matmul_params),
      si(r.flops_per_token),
      r.error ? 'error' : fmt(r.mean_step_s === null ? null : r.mean_step_s * 1e3, 1),
      fmt(r.tokens_per_s, 1),
      fmt(r.model_gflops),
      pct(r.fraction_of_peak),
      pct(r.fraction_of_best_matmul),
      b,
      r.dispatches_per_step ?? '-',
    ];
  });
  out.push(table(['model', 'objective', 'seqs x T', 'N', 'FLOP/token', 'step ms', 'tokens/s', 'model GFLOP/s', 'of peak', 'of best matmul', 'record / submit / wait ms', 'dispatches'], rows));
  out.push('');
  for (const [i, r] of t.runs.entries()) {
    // What the rows of a model share, once before its first row.
    if (i === 0 || t.runs[i - 1].model !== r.model) {
      const parts = [`${r.model}: ${r.description}`];
      if (r.shape) parts.push(r.shape);
      if (r.weight_bytes !== null) parts.push(`${(r.weight_bytes / 1e6).toFixed(1)} MB f16 weights loaded in ${fmt(r.load_s, 1)} s`);
      parts.push(`sequences of ${r.prompt_tokens} prompt + ${r.seq_len - r.prompt_tokens} answer tokens`);
      if (r.lora_flops_per_token !== null && r.flops_per_token) parts.push(`LoRA adds ${si(r.lora_flops_per_token)} FLOP/token (${pct(r.lora_flops_per_token / r.flops_per_token)}, not counted)`);
      out.push(parts.join('; '));
    }
    const parts = [`  ${r.objective}: ${r.objective_label}`];
    if (r.warmup_s !== null) parts.push(`${r.warmup_steps} warm-up step(s) ${fmt(r.warmup_s, 1)} s`);
    if (r.step_s.length) parts.push(`${r.step_s.length} timed step(s): ${r.step_s.map((s) => (s * 1e3).toFixed(0)).join(', ')} ms`);
    if (r.loss_first !== null) parts.push(`loss ${fmt(r.loss_first, 3)} -> ${fmt(r.loss_last, 3)}`);
    out.push(parts.join('; '));
    if (r.pipelines_compiled_while_timed) {
      out.push(`  WARNING: ${r.pipelines_compiled_while_timed} pipeline(s) compiled during the timed steps (too few warm-up steps): the step times include compilation`);
    }
    if (r.error) out.push(`  error: ${r.error}`);
  }
  out.push(`flops: ${t.flops}`);
  out.push(`timing: ${t.timing}`);
  if (t.dpo_cost.length) out.push('', ...dpoCostReport(t));
  return out;
}

/** Each DPO objective's step against SFT's on the chosen answers, with issue 9's verdict. */
function dpoCostReport(t) {
  const rows = t.dpo_cost.map((c) => [
    c.model,
    c.objective,
    `${c.batch} x ${c.seq_len}`,
    fmt(c.sft_tokens_per_s, 1),
    fmt(c.dpo_tokens_per_s, 1),
    `${fmt(c.step_ratio)}x`,
    `${fmt(c.median_step_ratio)}x`,
    `${fmt(c.best_step_ratio)}x`,
    `${c.limit}x`,
    c.ok ? 'ok' : 'OVER THE LIMIT',
  ]);
  return [
    'DPO step cost, in SFT steps on the chosen answers alone (same model, B, T, this run)',
    table(['model', 'objective', 'B x T', 'SFT tokens/s', 'DPO tokens/s', 'step ratio', 'median ratio', 'best ratio', 'limit', 'verdict'], rows),
    `limits: ${t.dpo_cost_note}`,
  ];
}

function humanReport(json) {
  const out = [];
  const a = json.adapter;
  out.push('Tunelab bench');
  if (a) {
    out.push(`runtime     ${a.runtime}`);
    out.push(`adapter     vendor '${a.vendor}', architecture '${a.architecture}', device '${a.device}', description '${a.description}'`);
    out.push(`fallback    ${a.isFallbackAdapter ? 'yes' : 'no'}`);
    out.push(`features    ${a.features.join(', ') || '(none)'}`);
    out.push(
      `limits      maxStorageBufferBindingSize ${a.limits.maxStorageBufferBindingSize}, maxBufferSize ${a.limits.maxBufferSize}, ` +
        `maxComputeInvocationsPerWorkgroup ${a.limits.maxComputeInvocationsPerWorkgroup}, maxComputeWorkgroupStorageSize ${a.limits.maxComputeWorkgroupStorageSize}`,
    );
  } else {
    out.push('adapter     none');
  }
  if (json.note) out.push(`NOTE: ${json.note}.`);
  out.push('');
  const p = json.peak;
  if (p) {
    out.push(
      `compute peak  ${fmt(p.gflops)} GFLOP/s   FMA-bound shader, best of ${p.trials.length} configurations ` +
        `(${p.best.chains} vec4 chains, workgroup ${p.best.wg}, ${p.best.workgroups} workgroups x ${p.best.iters} iterations)` +
        `${p.verified ? '' : '  [OUTPUT CHECK FAILED]'}`,
    );
  } else out.push('compute peak  -');
  const c = json.copy;
  if (c) {
    out.push(
      `copy          ${fmt(c.gbps)} GB/s      ${c.best}, ${(c.bytes / 2 ** 20).toFixed(0)} MiB buffer, ${c.counted}; ` +
        c.methods.filter((m) => m.method !== c.best).map((m) => `${m.method} ${fmt(m.gbps)}`).join(', ') +
        `${c.verified ? '' : '  [OUTPUT CHECK FAILED]'}`,
    );
  } else out.push('copy          -');
  out.push('');
  out.push(`matmul  C(m,n) = A(m,k) @ B(n,k)^T, A and C f32; GFLOP/s = 2mkn / s; peer = ${json.peer.name}${json.peer.available ? '' : ' (not run)'}`);
  const rows = json.matmul.map((r) => {
    const check = r.ok == null ? '-' : `${r.ok ? 'ok' : 'WRONG'} ${r.max_rel_err.toExponential(0)}`;
    const peerCell = r.peer_gflops !== null ? fmt(r.peer_gflops) : r.peer_skipped ? 'skipped' : r.peer_error ? 'error' : '-';
    return [
      `${r.m}x${r.k}x${r.n}`,
      r.b_format,
      r.kernel ? r.kernel.split(' + ').map((k) => k.split(':').pop()).join('+') + (r.variant && r.variant !== 'auto' ? ' (forced)' : '') : r.variant ?? '-',
      r.gflops !== null ? fmt(r.gflops) : r.skipped ? 'skipped' : 'error',
      pct(r.fraction_of_peak),
      fmt(r.best_ms, 1),
      check,
      peerCell + (r.b_format === 'f16' && r.peer_gflops !== null ? '*' : ''),
      pct(r.peer_fraction_of_peak),
      fmt(r.peer_best_ms, 1),
      r.ratio !== null ? `${r.ratio.toFixed(2)}x` : '-',
    ];
  });
  out.push(table(['M x K x N', 'B', 'kernel', 'ours GFLOP/s', 'of peak', 'ms', 'check', 'peer GFLOP/s', 'of peak', 'ms', 'ours/peer'], rows));
  const notes = [];
  if (json.peer.available && json.matmul.some((r) => r.b_format === 'f16')) notes.push('* f16 rows: the peer has no packed-f16 weights; compared with its f32 run.');
  for (const r of json.matmul) {
    const s = `${r.m}x${r.k}x${r.n} ${r.b_format}`;
    if (r.skipped) notes.push(`ours ${s}: skipped, ${r.skipped}`);
    if (r.error) notes.push(`ours ${s}: ${r.error}`);
    if (r.b_format === 'f32' && r.peer_skipped) notes.push(`peer ${s}: skipped, ${r.peer_skipped}`);
    if (r.b_format === 'f32' && r.peer_error) notes.push(`peer ${s}: ${r.peer_error}`);
    if (r.b_format === 'f32' && r.peer_ok === false) notes.push(`peer ${s}: WRONG RESULT, max relative error ${r.peer_max_rel_err}`);
  }
  if (!json.peer.available && json.peer.error) notes.push(`peer: ${json.peer.error}`);
  for (const e of json.errors) notes.push(`error: ${e}`);
  notes.push(`check: max |error| / sum|a_i b_i| on rows 0, m/2, m-1 against a float64 CPU reference.`);
  notes.push(`timing: ${json.timing}`);
  out.push('');
  out.push(...notes);
  if (json.train) out.push('', ...trainReport(json));
  if (json.eval) out.push('', ...evalReport(json));
  if (json.grpo) out.push('', ...grpoReport(json, { table, fmt, pct }));
  out.push(`(${json.elapsed_s.toFixed(0)} s)`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------

let server;
let exitCode = 0;
try {
  server = await startVite(!args.node);
  const types = await server.ssrLoadModule('/bench/core/types.ts');
  const trainDefaults = types.DEFAULT_OPTIONS.train;
  const options = {
    ...types.DEFAULT_OPTIONS,
    ...args.options,
    train: {
      ...trainDefaults,
      ...args.train,
      batch: { ...trainDefaults.batch, ...args.train.batch },
      warmup: { ...trainDefaults.warmup, ...args.train.warmup },
    },
    eval: { ...types.DEFAULT_OPTIONS.eval, ...args.eval, items: { ...types.DEFAULT_OPTIONS.eval.items, ...args.eval.items } },
    grpo: {
      ...types.DEFAULT_OPTIONS.grpo,
      ...args.grpo,
      prompts: { ...types.DEFAULT_OPTIONS.grpo.prompts, ...args.grpo.prompts },
      completionTokens: { ...types.DEFAULT_OPTIONS.grpo.completionTokens, ...args.grpo.completionTokens },
      warmup: { ...types.DEFAULT_OPTIONS.grpo.warmup, ...args.grpo.warmup },
      steps: { ...types.DEFAULT_OPTIONS.grpo.steps, ...args.grpo.steps },
    },
  };
  progress(`bench: ${args.node ? 'dawn.node' : `Chromium (${args.chromium})`}; progress below, results at the end`);
  const result = args.node ? await runInNode(server, options) : await runInChromium(server, options);
  const json = buildJson(result);
  if (!json.adapter || json.errors.length || json.matmul.some((r) => r.ok === false)) exitCode = 1;
  if (json.peak && !json.peak.verified) exitCode = 1;
  if (args.out) await writeFile(args.out, `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(args.json ? `${JSON.stringify(json)}\n` : `${humanReport(json)}\n`);
} catch (err) {
  console.error(`bench: ${err.stack ?? err}`);
  exitCode = 1;
} finally {
  await server?.close().catch(() => {});
}
// dawn.node keeps the process alive while its GPU objects exist.
process.exit(exitCode);
