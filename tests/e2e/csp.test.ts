// The built studio under its Content-Security-Policy (scripts/content-security-policy.ts), as `npm run build`
// writes it with one Hub mirror allowed: TUNELAB_CONNECT_SRC=<mirror>. This file builds its own copy (the
// shared e2e build allows every 127.0.0.1 port for the other tests' mirrors) and serves it with vite preview.
//
// Two servers answer the Hub's resolve URLs from the shared models folder: the allowed mirror, and a
// stranger on another port (another origin) with the same code. The studio must work with no violation
// reported (the demo model loads and generates; stories260K downloads from the mirror in the worker; the
// code sandbox starts from the studio worker), and a script in the page must not reach the stranger: not by
// fetch, not from a worker it starts, not through the studio worker; the stranger must see no request while
// the same requests to the mirror succeed.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, Worker } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectSources, contentSecurityPolicy } from '../../scripts/content-security-policy';
import { launchChromium, type TestBrowser } from './browser';
import { buildStudio } from './global-setup';
import { startHubMirror, type HubMirror } from './hub-mirror';
import { openStudioPage, text } from './studio-page';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MODEL = 'stories260K';
const CONFIG = `${MODEL}/resolve/main/config.json`;

/** The csp-violation reports of this context (page or worker) since it started: a ReportingObserver with
 * `buffered` also gets the reports made before it was created, e.g. while a worker's modules load. */
const cspReports = (): Promise<string[]> =>
  new Promise((resolve) => {
    const reports: string[] = [];
    const observer = new ReportingObserver(
      (batch) => {
        for (const r of batch) {
          const body = r.body as unknown as { effectiveDirective: string; blockedURL: string; sourceFile: string | null };
          reports.push(`${body.effectiveDirective} blocked ${body.blockedURL} (${body.sourceFile ?? 'no source'})`);
        }
      },
      { types: ['csp-violation'], buffered: true },
    );
    observer.observe();
    setTimeout(() => {
      observer.disconnect();
      resolve(reports);
    }, 200);
  });

/** Every csp-violation report of the page and of its workers still running. */
async function violations(page: Page): Promise<string[]> {
  const all = (await page.evaluate(cspReports)).map((r) => `page: ${r}`);
  for (const worker of page.workers()) {
    const name = await worker.evaluate(() => self.name);
    all.push(...(await worker.evaluate(cspReports)).map((r) => `worker ${name || worker.url()}: ${r}`));
  }
  return all;
}

async function waitForModel(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=load-progress][data-status=ready], [data-testid=load-progress][data-status=error]', { timeout: 120_000 });
  if ((await page.getByTestId('load-error').count()) > 0) throw new Error(`the model did not load: ${await text(page, 'load-error')}`);
  await page.getByTestId('model-summary').waitFor();
}

async function generate(page: Page): Promise<string> {
  await page.getByTestId('gen-prompt').fill('Setting: a rainy forest.\n');
  await page.getByTestId('gen-max-new-tokens').fill('8');
  await page.getByTestId('gen-temperature').fill('0');
  await page.getByTestId('gen-run').click();
  await page.waitForSelector('[data-testid=gen-status][data-state=done], [data-testid=gen-error]', { timeout: 60_000 });
  if ((await page.getByTestId('gen-error').count()) > 0) throw new Error(`generation failed: ${await text(page, 'gen-error')}`);
  return (await page.getByTestId('gen-output').textContent()) ?? '';
}

/** The studio worker (the one started from a blob: that imports studio.worker-*.js). */
async function studioWorker(page: Page): Promise<Worker> {
  const isStudio = async (w: Worker) => (await w.evaluate(() => self.name).catch(() => '')) === 'tunelab-studio';
  for (const w of page.workers()) if (await isStudio(w)) return w;
  throw new Error(`no studio worker among ${page.workers().map((w) => w.url()).join(', ') || 'none'}`);
}

/** Fetches `url` from this context (page or worker): 'ok <status>', or the error's message followed by the
 * securitypolicyviolations the fetch caused here ('<directive> <blocked URL>'). */
const probe = (url: string): Promise<string> => {
  const seen: string[] = [];
  const onViolation = (e: SecurityPolicyViolationEvent) => seen.push(`${e.effectiveDirective} ${e.blockedURI}`);
  globalThis.addEventListener('securitypolicyviolation', onViolation);
  return fetch(url)
    .then(
      (r) => `ok ${r.status}`,
      (e: Error) => e.message,
    )
    .then((result) => new Promise((done) => setTimeout(done, 50)).then(() => [result, ...seen].join(' | ')))
    .finally(() => globalThis.removeEventListener('securitypolicyviolation', onViolation));
};

/** The same probe from a worker the page script starts from a blob: (which runs under the page's policy). */
const probeFromBlobWorker = ({ probeSource, url }: { probeSource: string; url: string }): Promise<string> =>
  new Promise((resolve) => {
    const code = `(${probeSource})(${JSON.stringify(url)}).then((r) => postMessage(r));`;
    const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
    worker.onmessage = (e: MessageEvent<string>) => resolve(e.data);
  });

describe('the built studio under its Content-Security-Policy', () => {
  let mirror: HubMirror;
  let stranger: HubMirror;
  let outDir: string;
  let server: PreviewServer;
  let studioUrl: string;
  let browser: TestBrowser;

  beforeAll(async () => {
    const modelsDir = inject('modelsDir');
    [mirror, stranger] = await Promise.all([startHubMirror(modelsDir), startHubMirror(modelsDir)]);
    outDir = await mkdtemp(join(tmpdir(), 'tunelab-csp-'));
    await buildStudio(mirror.endpoint, outDir);
    process.env.TUNELAB_MODELS = modelsDir;
    server = await preview({ root, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview started but reported no local URL');
    studioUrl = url;
    browser = await launchChromium({ webgpu: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await Promise.all([mirror?.close(), stranger?.close()]);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('writes the policy into index.html, before any script, with no inline script or style left', async () => {
    const html = await readFile(join(outDir, 'index.html'), 'utf8');
    const policy = contentSecurityPolicy(connectSources(mirror.endpoint));
    expect(policy).toBe(
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
        `connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co ${mirror.endpoint}; ` +
        "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'",
    );
    const meta = html.indexOf('http-equiv="Content-Security-Policy"');
    expect(meta).toBeGreaterThan(0);
    expect(meta).toBeLessThan(html.indexOf('<script'));
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
    expect(html).not.toMatch(/\sstyle=/);

    const { page } = await browser.newPage();
    await page.goto(studioUrl);
    expect(await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content'))).toBe(policy);
    await page.close();
  });

  it('works under it: the demo loads and generates, stories260K downloads from the allowed mirror, no violation', async () => {
    const { page, errors } = await browser.newPage();
    expect(await openStudioPage(page, studioUrl, 'model')).toBe('ready');

    await page.getByTestId('weight-format').selectOption('f32');
    await page.getByTestId('demo-load').click();
    await waitForModel(page);
    expect((await generate(page)).length).toBeGreaterThan(0);

    // The allowed mirror: the worker downloads across origins under the policy.
    await page.getByTestId('hub-endpoint-toggle').click();
    expect(await text(page, 'hub-endpoint-policy')).toContain(mirror.endpoint);
    await page.getByTestId('hub-endpoint').fill(mirror.endpoint);
    await page.getByTestId('hub-endpoint-save').click();
    expect(await text(page, 'hub-endpoint-current')).toBe(mirror.endpoint);
    await page.getByTestId('hub-id').fill(MODEL);
    await page.getByTestId('hub-load').click();
    await waitForModel(page);
    expect(mirror.requestsFor(MODEL, 'model.safetensors')).toBe(1);
    expect((await generate(page)).length).toBeGreaterThan(0);

    // The code sandbox starts from the studio worker as it does for a custom metric: from its script's URL, so
    // it runs under no policy of ours and its prelude's indirect eval works (under the policy it would not).
    const sandboxScript = (await readdir(join(outDir, 'assets'))).find((f) => f.startsWith('sandbox.worker-'));
    expect(sandboxScript).toBeDefined();
    const startSandbox = (path: string) =>
      new Promise<string>((resolve) => {
        const sandbox = new Worker(new URL(path, self.location.origin), { type: 'module' });
        sandbox.onmessage = (e: MessageEvent<{ type: string }>) => {
          resolve(e.data.type);
          sandbox.terminate();
        };
        sandbox.onerror = (e) => resolve(`error: ${e.message}`);
      });
    expect(await (await studioWorker(page)).evaluate(startSandbox, `/assets/${sandboxScript}`)).toBe('ready');

    expect(await violations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps a page script from reaching another origin, while the same requests to the allowed mirror go through', async () => {
    const { page } = await browser.newPage();
    expect(await openStudioPage(page, studioUrl, 'model')).toBe('ready');
    const allowed = `${mirror.endpoint}/${CONFIG}`;
    const blocked = `${stranger.endpoint}/${CONFIG}`;
    // The stranger is up and answers a client without the policy.
    expect((await fetch(blocked)).status).toBe(200);
    const strangerSeen = stranger.requestsFor(MODEL, 'config.json');
    const mirrorSeen = mirror.requestsFor(MODEL, 'config.json');

    const refused = `Failed to fetch | connect-src ${blocked}`;
    // fetch from the page.
    expect(await page.evaluate(probe, allowed)).toBe('ok 200');
    expect(await page.evaluate(probe, blocked)).toBe(refused);
    // fetch from a worker the page script starts.
    expect(await page.evaluate(probeFromBlobWorker, { probeSource: probe.toString(), url: allowed })).toBe('ok 200');
    expect(await page.evaluate(probeFromBlobWorker, { probeSource: probe.toString(), url: blocked })).toBe(refused);
    // fetch inside the studio worker, which does every download.
    const worker = await studioWorker(page);
    expect(await worker.evaluate(probe, allowed)).toBe('ok 200');
    expect(await worker.evaluate(probe, blocked)).toBe(refused);

    expect(mirror.requestsFor(MODEL, 'config.json')).toBe(mirrorSeen + 3);
    expect(stranger.requestsFor(MODEL, 'config.json')).toBe(strangerSeen);

    // The Hub mirror setting refuses the stranger up front, naming what would allow it.
    await page.getByTestId('hub-endpoint-toggle').click();
    await page.getByTestId('hub-endpoint').fill(stranger.endpoint);
    await page.getByTestId('hub-endpoint-save').click();
    expect(await text(page, 'hub-endpoint-error')).toBe(
      `The Hub endpoint ${stranger.endpoint} is blocked by this build's Content-Security-Policy, which lets the studio connect only to ` +
        `its own origin, huggingface.co and its download hosts, and ${mirror.endpoint}. ` +
        `Rebuild with TUNELAB_CONNECT_SRC=${stranger.endpoint} npm run build to allow it (npm start serves the studio without this policy).`,
    );
    expect(await text(page, 'hub-endpoint-current')).not.toBe(stranger.endpoint);
    await page.close();
  });
});
