// The Judge section's endpoint judge as the worker starts it (src/worker/eval-judge-source.ts): the key the
// user typed reaches the server as a bearer token and nowhere else, and every request is reported once it is
// answered (or failed), in the order sent, with its status and reply, which is what the page lists.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EndpointRequestRecord } from '../../src/engine/eval/judge/endpoint-judge';
import { endpointJudge, startJudge } from '../../src/worker/eval-judge-source';
import type { ActiveModel } from '../../src/worker/model-session';
import type { GpuContext } from '../../src/engine/gpu/context';

afterEach(() => vi.unstubAllGlobals());

describe('the endpoint judge of a judgement', () => {
  it('sends the key as a bearer token only, and reports every request as it is answered', async () => {
    const seen: { url: string; auth: string | null; body: { model: string; messages: unknown[] } }[] = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body));
      seen.push({ url, auth: new Headers(init.headers).get('authorization'), body });
      if (body.messages.at(-1).content === 'fail') return new Response('overloaded', { status: 503 });
      return new Response(JSON.stringify({ choices: [{ message: { content: `[[A]] for ${body.messages.at(-1).content}` } }] }), { status: 200 });
    });
    const source = { type: 'endpoint' as const, url: ' https://judge.example/v1/ ', model: 'gpt-4o', apiKey: 'sk-typed' };
    const reported: EndpointRequestRecord[] = [];
    const started = await startJudge(source, endpointJudge(source), null as unknown as ActiveModel, null as unknown as GpuContext, 16, (r) => reported.push(r));
    expect(started.kind).toBe('endpoint');
    expect(started.judge.name).toBe('gpt-4o via https://judge.example');

    const replies = await Promise.all([started.judge.complete([{ role: 'user', content: 'one' }]), started.judge.complete([{ role: 'user', content: 'two' }])]);
    expect(replies).toEqual(['[[A]] for one', '[[A]] for two']);
    await expect(started.judge.complete([{ role: 'user', content: 'fail' }])).rejects.toThrow(/answered 503: overloaded/);

    expect(seen.map((s) => [s.url, s.auth, s.body.model])).toEqual([
      ['https://judge.example/v1/chat/completions', 'Bearer sk-typed', 'gpt-4o'],
      ['https://judge.example/v1/chat/completions', 'Bearer sk-typed', 'gpt-4o'],
      ['https://judge.example/v1/chat/completions', 'Bearer sk-typed', 'gpt-4o'],
    ]);
    expect(started.requests().map((r) => [r.messages[0].content, r.status, r.reply ?? r.error])).toEqual([
      ['one', 200, '[[A]] for one'],
      ['two', 200, '[[A]] for two'],
      ['fail', 503, 'https://judge.example/v1/chat/completions answered 503: overloaded'],
    ]);
    // Each reported once, after its answer, as the records the judge keeps.
    expect(reported.map((r) => r.messages[0].content).sort()).toEqual(['fail', 'one', 'two']);
    expect(reported.every((r) => r.durationMs !== undefined && r.status !== undefined)).toBe(true);
    expect(JSON.stringify([started.requests(), reported, started.judge])).not.toContain('sk-typed');
  });

  it('refuses a URL that is not http(s) before any answer is generated', () => {
    expect(() => endpointJudge({ type: 'endpoint', url: 'ftp://x', model: 'm', apiKey: '' })).toThrow(/must be http\(s\)/);
    expect(() => endpointJudge({ type: 'endpoint', url: 'not a url', model: 'm', apiKey: '' })).toThrow(/is not a URL/);
  });
});
