// The `tunelab` command line as a user runs it: `node bin/tunelab.mjs ...` in a child process (which
// inherits scripts/gpu-env.sh's Vulkan driver), checked on its stdout, stderr, exit status and files.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate, promptIds } from '../../src/engine/model/generate';
import { loadModelFiles } from '../../src/engine/model/model-files';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { mapWeights } from '../../src/engine/model/weights';
import { DirectorySource } from '../../src/node/directory-source';
import { expectClose } from '../helpers/assert';
import { REPO, runNode, tunelab, type CliRun } from '../helpers/cli';

const repo = REPO;
const stories = resolve(repo, '../shared/assets/models/stories260K');
// The CLI takes the folder as a user would type it, relative to the repository.
const storiesArg = '../shared/assets/models/stories260K';

type Run = CliRun;

/** The lines of stderr that the command itself wrote (dawn.node's own driver warnings left out). */
function tunelabLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('tunelab:'));
}

/** A failed command: status 1, nothing on stdout, exactly one stderr line that matches `message`. */
function expectOneLineError(r: Run, message: RegExp, status = 1): void {
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  const lines = r.stderr.slice(0, -1).split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tunelab: /);
  expect(lines[0]).toMatch(message);
  expect(r.status).toBe(status);
}

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tunelab-cli-'));
  // Always a cold build here, so a broken build script fails this file, not just a stale bundle.
  const started = performance.now();
  const build = await runNode(['scripts/build-cli.mjs']);
  expect(build.status, build.stderr).toBe(0);
  expect(build.stdout).toBe('');
  console.log(`CLI build: ${((performance.now() - started) / 1000).toFixed(2)} s`);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('tunelab generate', () => {
  it('prints exactly the reference greedy text from BOS on the GPU, and only that on stdout', async () => {
    const expected = await readFile(join(stories, 'expected_greedy_from_bos_40_tokens.txt'), 'utf8');
    const r = await tunelab(['generate', '--model', storiesArg, '--max-new-tokens', '40', '--temperature', '0']);
    expect(r.status, r.stderr).toBe(0);
    // stdout: the generated text and one final newline (the expected file ends with one too).
    expect(r.stdout).toBe(expected);
    expect(r.stderr).toMatch(/on the GPU \(.*f16 weights/);
    expect(r.stderr).toMatch(/generated 40 tokens in .*tokens\/s/);
  });

  it('prints the same text on the CPU reference (--backend cpu)', async () => {
    const expected = await readFile(join(stories, 'expected_greedy_from_bos_40_tokens.txt'), 'utf8');
    const r = await tunelab(['generate', '--model', storiesArg, '--max-new-tokens', '40', '--temperature', '0', '--backend', 'cpu', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(r.stderr).toBe(''); // --quiet
  });

  it('continues a prompt, stops at a --stop string, and repeats a sampled run with the same --seed', async () => {
    const base = ['generate', '--model', storiesArg, '--max-new-tokens', '30', '--backend', 'cpu', '--quiet'];
    const greedy = await tunelab([...base, '--prompt', 'Once upon a time', '--temperature', '0']);
    expect(greedy.status, greedy.stderr).toBe(0);
    const full = greedy.stdout.slice(0, -1);
    const stop = full.slice(10, 14);
    const stopped = await tunelab([...base, '--prompt', 'Once upon a time', '--temperature', '0', '--stop', stop]);
    expect(stopped.stdout).toBe(`${full.slice(0, full.indexOf(stop))}\n`);

    const sampled = ['--temperature', '1.2', '--top-k', '40', '--top-p', '0.95', '--seed', '7'];
    const [a, b] = await Promise.all([tunelab([...base, ...sampled]), tunelab([...base, ...sampled])]);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.length).toBeGreaterThan(10);
  });

  it('--prompts-file completes every record (fields kept) as single --prompt runs do, whatever --batch', async () => {
    const prompts = ['Once upon a time', 'Lily had a red ball', ''];
    const file = join(work, 'prompts.jsonl');
    await writeFile(file, prompts.map((prompt, i) => JSON.stringify({ id: i, prompt })).join('\n') + '\n');
    const base = ['generate', '--model', storiesArg, '--max-new-tokens', '12', '--temperature', '0', '--quiet'];
    const out = join(work, 'out.jsonl');
    const batched = await tunelab([...base, '--prompts-file', file, '--batch', '2', '--out', out]);
    expect(batched.status, batched.stderr).toBe(0);
    const rows = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.id, r.prompt, r.finish_reason])).toEqual(prompts.map((p, i) => [i, p, 'length']));
    for (const [i, prompt] of prompts.entries()) {
      const single = await tunelab([...base, '--prompt', prompt]);
      expect(rows[i].completion).toBe(single.stdout.slice(0, -1));
    }
    const bad = join(work, 'bad.jsonl');
    await writeFile(bad, '{"prompt": "a"}\n{"text": "b"}\n');
    expectOneLineError(await tunelab([...base, '--prompts-file', bad]), /bad.jsonl: line 2: expected an object with a "prompt" string/);
  });
});

describe('tunelab generate --chat', () => {
  it("renders the prompt as one user message through the model's chat template", async () => {
    const dir = join(work, 'chat-model');
    await cp(stories, dir, { recursive: true });
    const configFile = join(dir, 'tokenizer_config.json');
    const tokenizerConfig = JSON.parse(await readFile(configFile, 'utf8'));
    tokenizerConfig.chat_template =
      "{{ bos_token }}{% for m in messages %}{{ m['role'] }} said: {{ m['content'] }}.{% endfor %}" +
      '{% if add_generation_prompt %} Then{% endif %}';
    await writeFile(configFile, JSON.stringify(tokenizerConfig));

    const r = await tunelab(['generate', '--model', dir, '--chat', '--prompt', 'Lily likes cats', '--max-new-tokens', '12', '--temperature', '0', '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(0);
    // The same generation done here through the engine: the CLI must pass the chat prompt through unchanged.
    const files = await loadModelFiles(new DirectorySource(dir));
    const tokenizer = new ModelTokenizer(files);
    const prompt = promptIds(tokenizer, files.config, 'Lily likes cats', { chat: true });
    expect(prompt[0]).toBe(1); // the template's {{ bos_token }}, once
    expect(tokenizer.decode(prompt.slice(1))).toMatch(/^ ?user said: Lily likes cats\. Then$/);
    const cpu = new CpuCausalLm(files.config, mapWeights(files.config, files.weights));
    const [expected] = await generate(cpu, [prompt], { maxNewTokens: 12, temperature: 0 }, { tokenizer });
    expect(r.stdout).toBe(`${expected.text}\n`);
    expect(r.stderr).toContain(`prompt: ${prompt.length} tokens; greedy`);

    expectOneLineError(await tunelab(['generate', '--model', storiesArg, '--chat', '--prompt', 'hi']), /tokenizer_config\.json: has no "chat_template"/);
  });
});

describe('tunelab logits', () => {
  it('--ids writes input_ids and (T, V) logits equal to the CPU reference', async () => {
    const ids = [1, 403, 407, 261, 378, 429, 19, 343];
    const out = join(work, 'ids.safetensors');
    const r = await tunelab(['logits', '--model', storiesArg, '--ids', ids.join(','), '--out', out, '--weights', 'f32']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const file = readSafetensors(new Uint8Array(await readFile(out)), out);
    const inputIds = file.tensors.get('input_ids');
    const logits = file.tensors.get('logits');
    expect(inputIds?.dtype).toBe('I32');
    expect(inputIds?.shape).toEqual([ids.length]);
    expect(Array.from(inputIds!.toInt32())).toEqual(ids);
    expect(logits?.dtype).toBe('F32');
    expect(logits?.shape).toEqual([ids.length, 512]);

    const files = await loadModelFiles(new DirectorySource(stories));
    const cpu = new CpuCausalLm(files.config, mapWeights(files.config, files.weights));
    const [reference] = await cpu.extend([{ sequence: cpu.createSequence(ids.length), tokens: ids }], 'all');
    const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expectClose(logits!.toFloat32(), reference, { atol: 1e-4 * scale, rtol: 1e-4 }, 'GPU logits vs CPU reference');
  });

  it('--text puts BOS first, as stories260K\'s tokenizer config says', async () => {
    const text = 'Once upon a time, Lily saw a cat.';
    const out = join(work, 'text.safetensors');
    const r = await tunelab(['logits', '--model', storiesArg, '--text', text, '--out', out, '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(0);
    const file = readSafetensors(new Uint8Array(await readFile(out)), out);
    const ids = Array.from(file.tensors.get('input_ids')!.toInt32());
    const files = await loadModelFiles(new DirectorySource(stories));
    const bare = new ModelTokenizer(files).encode(text, { addSpecialTokens: false });
    expect(bare[0]).not.toBe(1);
    expect(ids).toEqual([1, ...bare]);
    expect(file.tensors.get('logits')?.shape).toEqual([ids.length, 512]);
  });
});

describe('tunelab with a Hub id', () => {
  let server: Server;
  let endpoint: string;
  const requests: string[] = [];

  beforeAll(async () => {
    // Answers the Hub's resolve URLs for one repository at one revision, from the stories260K folder.
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const m = /^\/test-org\/stories260K\/resolve\/v1\/([\w.-]+)$/.exec(req.url ?? '');
      readFile(join(stories, m?.[1] ?? 'none')).then(
        (bytes) => res.writeHead(200, { 'content-length': bytes.byteLength }).end(bytes),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((ok) => (server ? server.close(() => ok()) : ok())));

  it('downloads with progress on stderr at --revision from --hub-endpoint into --cache-dir, then loads from the cache', async () => {
    const expected = await readFile(join(stories, 'expected_greedy_from_bos_40_tokens.txt'), 'utf8');
    const args = ['generate', '--model', 'test-org/stories260K', '--hub-endpoint', endpoint, '--revision', 'v1',
      '--cache-dir', join(work, 'hub-cache'), '--max-new-tokens', '40', '--temperature', '0', '--backend', 'cpu'];
    const first = await tunelab(args);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toBe(expected);
    expect(first.stderr).toMatch(/^downloading model\.safetensors: .* of \d\.\d\d MB \(100%\)$/m);
    expect(requests).toContain('/test-org/stories260K/resolve/v1/model.safetensors');

    requests.length = 0;
    const second = await tunelab(args);
    expect(second.stdout).toBe(expected);
    expect(second.stderr).not.toMatch(/downloading/);
    expect(requests.filter((r) => r.endsWith('model.safetensors'))).toEqual([]);
  });
});

describe('tunelab info', () => {
  it('--json prints one JSON object that names the adapter', async () => {
    const r = await tunelab(['info', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(`${info.vendor as string}${info.description as string}`.length).toBeGreaterThan(0);
    expect(typeof info.software).toBe('boolean');
    expect(info.features).toHaveProperty('shaderF16');
    expect((info.limits as Record<string, number>).maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(Array.isArray(info.featureNames)).toBe(true);
  });
});

describe('tunelab errors: one stderr line and a non-zero status', () => {
  /** A copy of stories260K in the work folder, changed by `corrupt`. */
  async function brokenModel(name: string, corrupt: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(work, name);
    await cp(stories, dir, { recursive: true });
    await corrupt(dir);
    return dir;
  }

  const generateFrom = (dir: string) => tunelab(['generate', '--model', dir, '--max-new-tokens', '3']);

  it('a missing model folder', async () => {
    const missing = join(work, 'no-such-model');
    expectOneLineError(await generateFrom(missing), new RegExp(`no such folder.*${missing}`));
  });

  it('a config.json that is not JSON', async () => {
    const dir = await brokenModel('bad-json', (d) => writeFile(join(d, 'config.json'), '{"architectures": ["LlamaForCausalLM"],'));
    expectOneLineError(await generateFrom(dir), /config\.json: is not valid JSON/);
  });

  it('an unknown architecture, named', async () => {
    const dir = await brokenModel('mamba', async (d) => {
      const config = JSON.parse(await readFile(join(d, 'config.json'), 'utf8'));
      await writeFile(join(d, 'config.json'), JSON.stringify({ ...config, architectures: ['MambaForCausalLM'], model_type: 'mamba' }));
    });
    expectOneLineError(await generateFrom(dir), /config\.json: .*"MambaForCausalLM"/);
  });

  it('a tensor with the wrong shape, named', async () => {
    const bad = 'model.layers.2.self_attn.k_proj.weight';
    const dir = await brokenModel('bad-shape', async (d) => {
      const file = readSafetensors(new Uint8Array(await readFile(join(d, 'model.safetensors'))));
      const tensors: Record<string, TensorToWrite> = {};
      for (const [name, t] of file.tensors) {
        // (Hkv * D, C) = (32, 64) stored as (64, 32): same bytes, wrong layout.
        const shape = name === bad ? [...t.shape].reverse() : t.shape;
        tensors[name] = { dtype: 'F32', shape, data: t.toFloat32() };
      }
      await writeFile(join(d, 'model.safetensors'), writeSafetensors(tensors));
    });
    expectOneLineError(await generateFrom(dir), new RegExp(`model\\.safetensors: tensor "${bad.replaceAll('.', '\\.')}" has shape \\[64, 32\\], expected \\[32, 64\\]`));
  });

  it('a model without tokenizer.json, and a bad flag (status 2)', async () => {
    const dir = await brokenModel('no-tokenizer', (d) => rm(join(d, 'tokenizer.json')));
    expectOneLineError(await generateFrom(dir), /tokenizer\.json: not found/);
    expectOneLineError(await tunelab(['generate', '--model', storiesArg, '--top-p', '1.5']), /--top-p must be a number in \(0, 1\], got 1\.5/, 2);
  });

  it('no GPU adapter: says so and suggests --backend cpu; --verbose adds the stack', async () => {
    const env = { ...process.env, VK_ICD_FILENAMES: join(work, 'no-driver.json') };
    const r = await tunelab(['generate', '--model', storiesArg, '--max-new-tokens', '3'], env);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    // dawn.node prints its own Vulkan loader warnings; ours is one line.
    const ours = tunelabLines(r.stderr);
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(/^tunelab: no GPU adapter: .*Install a Vulkan driver.*--backend cpu/);

    const dir = await brokenModel('bad-json-verbose', (d) => writeFile(join(d, 'config.json'), '{'));
    const verbose = await tunelab(['generate', '--model', dir, '--verbose']);
    expect(verbose.status).toBe(1);
    expect(verbose.stderr).toMatch(/^tunelab: config\.json: is not valid JSON.*\nModelFormatError: .*\n\s+at .*model-files\.ts:\d+/);
  });
});
