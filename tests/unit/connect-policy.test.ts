// The built studio's Content-Security-Policy: TUNELAB_CONNECT_SRC's parsing (a hostile value must not add a
// directive), CSP's host-source matching as the refusals use it, the policy text and the Vite plugin, and the
// page's refusals of a Hub mirror or judge endpoint the policy would block (e2e: tests/e2e/csp.test.ts).

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Plugin } from 'vite';
import { connectSources, contentSecurityPolicy, contentSecurityPolicyPlugin } from '../../scripts/content-security-policy';
import { parseEndpoint } from '../../src/state/hub-settings.svelte';
import { judgementRequest, type JudgeForm } from '../../src/state/judge-request';
import { endpointJudge } from '../../src/worker/eval-judge-source';
import { modelSource } from '../../src/worker/model-source';
import {
  builtConnectProblem,
  ConnectRefusedError,
  ConnectSourceError,
  connectProblem,
  HUB_CONNECT_SOURCES,
  parseConnectSources,
  sourceMatches,
} from '../../src/worker/connect-policy';

const STUDIO = 'http://127.0.0.1:5173';
const notAnOrigin = (entry: string) =>
  `TUNELAB_CONNECT_SRC: "${entry}" is not an http(s) origin (expected e.g. https://mirror.example.com or http://127.0.0.1:8080; ` +
  'a host may start with *. and the port may be *)';

describe('TUNELAB_CONNECT_SRC', () => {
  it('reads origins and URLs separated by spaces or commas, as lower-case origins without paths, once each', () => {
    expect(parseConnectSources('')).toEqual([]);
    expect(parseConnectSources(' https://Mirror.Example/hf/ ,http://127.0.0.1:8080/v1  http://127.0.0.1:8080 https://*.example.org:* http://[::1]:9000')).toEqual([
      'https://mirror.example',
      'http://127.0.0.1:8080',
      'https://*.example.org:*',
      'http://[::1]:9000',
    ]);
  });

  it.each([
    // A value that would add a directive or a keyword to the policy if it reached it as is.
    ["https://mirror.example;script-src 'unsafe-inline'", "https://mirror.example;script-src"],
    ['https://mirror.example/;', 'https://mirror.example/;'],
    ["'unsafe-eval'", "'unsafe-eval'"],
    ['*', '*'],
    ['https:', 'https:'],
    ['data:', 'data:'],
    ['blob:', 'blob:'],
    ['javascript:alert(1)', 'javascript:alert(1)'],
    ['ftp://files.example', 'ftp://files.example'],
    ['mirror.example', 'mirror.example'],
    ['http://127.0.0.1:99999', 'http://127.0.0.1:99999'],
    ['https://*', 'https://*'],
    ['https://mirror.*.example', 'https://mirror.*.example'],
  ])('refuses %j, naming the entry', (value, entry) => {
    expect(() => parseConnectSources(value)).toThrow(ConnectSourceError);
    expect(() => parseConnectSources(value)).toThrow(notAnOrigin(entry));
  });
});

describe('host-source matching', () => {
  const url = (u: string) => new URL(u);
  it('matches scheme, host and port as CSP does', () => {
    expect(sourceMatches('https://huggingface.co', url('https://huggingface.co/org/m/resolve/main/config.json'))).toBe(true);
    expect(sourceMatches('https://huggingface.co', url('https://huggingface.co:443/x'))).toBe(true);
    expect(sourceMatches('https://huggingface.co', url('https://huggingface.co:8443/x'))).toBe(false);
    expect(sourceMatches('https://huggingface.co', url('http://huggingface.co/x'))).toBe(false);
    expect(sourceMatches('https://huggingface.co', url('https://huggingface.co.evil.example/x'))).toBe(false);
    // An http source also allows https on the same host (CSP's upgrade rule), not the reverse.
    expect(sourceMatches('http://mirror.example', url('https://mirror.example/x'))).toBe(true);
    expect(sourceMatches('http://127.0.0.1:8080', url('http://127.0.0.1:8080/v1/chat/completions'))).toBe(true);
    expect(sourceMatches('http://127.0.0.1:8080', url('http://127.0.0.1:8081/'))).toBe(false);
    expect(sourceMatches('http://127.0.0.1:8080', url('http://localhost:8080/'))).toBe(false);
    expect(sourceMatches('http://127.0.0.1:*', url('http://127.0.0.1:41234/'))).toBe(true);
    // A wildcard covers subdomains at any depth, never the bare domain.
    expect(sourceMatches('https://*.hf.co', url('https://us.aws.cdn.hf.co/xet-bridge-us/abc'))).toBe(true);
    expect(sourceMatches('https://*.hf.co', url('https://hf.co/x'))).toBe(false);
    expect(sourceMatches('https://*.hf.co', url('https://evilhf.co/x'))).toBe(false);
  });

  it('lets the Hub and every download host it redirects to through, and nothing else by default', () => {
    const hub = (u: string) => connectProblem('The Hub endpoint', u, HUB_CONNECT_SOURCES, STUDIO);
    for (const host of ['huggingface.co', 'cdn-lfs.huggingface.co', 'cdn-lfs-us-1.hf.co', 'cas-bridge.xethub.hf.co', 'transfer.xethub.hf.co', 'us.aws.cdn.hf.co']) {
      expect(hub(`https://${host}/some/file`), host).toBeNull();
    }
    expect(hub(`${STUDIO}/__tunelab/hub`)).toBeNull();
    expect(hub('https://hf-mirror.com')).toBe(
      "The Hub endpoint https://hf-mirror.com is blocked by this build's Content-Security-Policy, which lets the studio connect only to " +
        'its own origin, huggingface.co and its download hosts. ' +
        'Rebuild with TUNELAB_CONNECT_SRC=https://hf-mirror.com npm run build to allow it (npm start serves the studio without this policy).',
    );
    // No policy (the dev server): nothing is refused.
    expect(connectProblem('The Hub endpoint', 'https://hf-mirror.com', null, STUDIO)).toBeNull();
  });
});

describe('the policy and its Vite plugin', () => {
  it('writes each directive, with the extra origins after the Hub in connect-src', () => {
    expect(contentSecurityPolicy(connectSources('http://127.0.0.1:8080/v1, https://huggingface.co'))).toBe(
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
        "connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co http://127.0.0.1:8080; " +
        "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'",
    );
  });

  it('runs only for the build, defines the sources for the studio and puts the meta first in <head>', () => {
    const plugin = contentSecurityPolicyPlugin('https://mirror.example');
    expect(plugin.apply).toBe('build');
    const config = (plugin.config as () => { define: Record<string, string> })();
    expect(JSON.parse(config.define.__TUNELAB_CONNECT_SOURCES__)).toEqual([...HUB_CONNECT_SOURCES, 'https://mirror.example']);
    const hook = plugin.transformIndexHtml as Extract<Plugin['transformIndexHtml'], { handler: unknown }>;
    expect(hook.order).toBe('post');
    expect((hook.handler as () => unknown)()).toEqual([
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy([...HUB_CONNECT_SOURCES, 'https://mirror.example']) },
        injectTo: 'head-prepend',
      },
    ]);
  });

  it('fails the build on a hostile TUNELAB_CONNECT_SRC, naming the entry', () => {
    const plugin = contentSecurityPolicyPlugin("https://ok.example https://x.example;default-src *");
    expect(() => (plugin.config as () => unknown)()).toThrow(notAnOrigin('https://x.example;default-src'));
  });
});

describe('the page refuses what the built policy blocks', () => {
  afterEach(() => vi.unstubAllGlobals());

  const built = (sources: string[]) => {
    vi.stubGlobal('__TUNELAB_CONNECT_SOURCES__', sources);
    vi.stubGlobal('self', { location: { origin: STUDIO } });
  };

  const judgeForm = (endpointUrl: string): JudgeForm => ({
    name: 'j',
    suiteId: 's',
    mode: 'single',
    prompt: { name: 'single-v1', type: 'single', systemPrompt: 'Rate.', promptTemplate: '{question} {answer}', outputFormat: '[[rating]]' },
    judge: 'endpoint',
    offlineId: '',
    hubId: '',
    hubEndpoint: 'https://huggingface.co',
    weightFormat: 'f16',
    endpointUrl,
    endpointModel: 'judge',
    apiKey: '',
    adapterIds: [],
    limit: null,
    maxNewTokens: 8,
    judgeMaxNewTokens: 8,
  });

  it('a Hub mirror outside connect-src', () => {
    built([...HUB_CONNECT_SOURCES, 'http://127.0.0.1:8080']);
    expect(parseEndpoint('http://127.0.0.1:8080/')).toEqual({ endpoint: 'http://127.0.0.1:8080' });
    expect(parseEndpoint(`${STUDIO}/__tunelab/hub`)).toEqual({ endpoint: `${STUDIO}/__tunelab/hub` });
    expect(parseEndpoint(' https://hf-mirror.com ')).toEqual({
      error:
        "The Hub endpoint https://hf-mirror.com is blocked by this build's Content-Security-Policy, which lets the studio connect only to " +
        'its own origin, huggingface.co and its download hosts, and http://127.0.0.1:8080. ' +
        'Rebuild with TUNELAB_CONNECT_SRC=https://hf-mirror.com npm run build to allow it (npm start serves the studio without this policy).',
    });
  });

  it('a judge endpoint outside connect-src', () => {
    built([...HUB_CONNECT_SOURCES]);
    expect(judgementRequest(judgeForm('http://127.0.0.1:8080/v1'))).toEqual({
      problem:
        "The judge endpoint http://127.0.0.1:8080/v1 is blocked by this build's Content-Security-Policy, which lets the studio connect only to " +
        'its own origin, huggingface.co and its download hosts. ' +
        'Rebuild with TUNELAB_CONNECT_SRC=http://127.0.0.1:8080 npm run build to allow it (npm start serves the studio without this policy).',
    });
    built([...HUB_CONNECT_SOURCES, 'http://127.0.0.1:8080']);
    expect(judgementRequest(judgeForm('http://127.0.0.1:8080/v1'))).toMatchObject({ judge: { type: 'endpoint', url: 'http://127.0.0.1:8080/v1' } });
  });

  it('the studio worker refuses them too (a worker a page script started from its URL runs under no policy)', () => {
    built([...HUB_CONNECT_SOURCES]);
    const hub = () => modelSource({ kind: 'hub', id: 'org/model', revision: 'main', endpoint: 'http://127.0.0.1:9/' });
    expect(hub).toThrow(ConnectRefusedError);
    expect(hub).toThrow(/^The Hub endpoint http:\/\/127\.0\.0\.1:9\/ is blocked by this build's Content-Security-Policy/);
    const judge = () => endpointJudge({ type: 'endpoint', url: 'https://judge.example/v1', model: 'm', apiKey: 'sk-1' });
    expect(judge).toThrow(ConnectRefusedError);
    expect(judge).toThrow(/^The judge endpoint https:\/\/judge\.example\/v1 is blocked .* Rebuild with TUNELAB_CONNECT_SRC=https:\/\/judge\.example npm run build/);
  });

  it('nothing without a built-in policy (dev server, Node)', () => {
    expect(builtConnectProblem('The Hub endpoint', 'https://hf-mirror.com')).toBeNull();
    expect(parseEndpoint('https://hf-mirror.com')).toEqual({ endpoint: 'https://hf-mirror.com' });
  });
});
