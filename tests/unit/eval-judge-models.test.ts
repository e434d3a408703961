// The judge models: the engine-backed judge on a scripted fake network (prompts reach the model as the chat
// template renders them, calls made together decode as one batch, too-long prompts refused), answers to
// one and two turns, and the OpenAI-compatible endpoint judge on a fake fetch (request shape, key only in
// the header, every request listed).

import { describe, expect, it } from 'vitest';
import { answerQuestions } from '../../src/engine/eval/judge/answers';
import { plainConversation } from '../../src/engine/eval/judge/conversation';
import { EndpointJudge } from '../../src/engine/eval/judge/endpoint-judge';
import { EngineJudge, JudgePromptTooLongError } from '../../src/engine/eval/judge/engine-judge';
import { renderChat, type ChatMessage } from '../../src/engine/model/chat-template';
import { FakeLm, fakeConfig, scripted } from '../helpers/fake-lm';
import { storiesFiles, storiesTokenizer } from '../helpers/stories-tokenizer';

// A ChatML-like template (the stories260K tokenizer has no chat template of its own).
const TEMPLATE = "{% for m in messages %}{{ '<' + m.role + '> ' + m.content + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<assistant> ' }}{% endif %}";
const files = storiesFiles({ tokenizerConfig: { chat_template: TEMPLATE } });
const tokenizer = storiesTokenizer({ tokenizerConfig: { chat_template: TEMPLATE } });
const EOS = 2;

const conversation = (n: number): ChatMessage[] => [
  { role: 'system', content: 'Judge fairly.' },
  { role: 'user', content: `Which story is better, number ${n}?` },
];

describe('EngineJudge', () => {
  it('feeds the chat-template rendering, decodes calls made together in one batch, returns the text', async () => {
    const prompts = [1, 2, 3].map((n) => tokenizer.encode(renderChat(files.tokenizerConfig, conversation(n)), { addSpecialTokens: false }));
    const replies = ['Story A. [[A]]', 'Both. [[C]]', 'The second one'].map((t) => tokenizer.encode(t, { addSpecialTokens: false }));
    const lm = new FakeLm(fakeConfig(512, 256), scripted(512, prompts.map((p, i) => [...p, ...replies[i], EOS]), EOS));
    const judge = new EngineJudge(lm, tokenizer, files, { name: 'fake', maxNewTokens: 40, batchSize: 2 });
    expect(judge.style).toBe('chat');
    expect(judge.promptIds(conversation(1))).toEqual(prompts[0]);
    const texts = await Promise.all([1, 2, 3].map((n) => judge.complete(conversation(n))));
    // (The stories tokenizer decodes its first word with the space it encodes in front of it.)
    expect(texts.map((t) => t.trimStart())).toEqual(['Story A. [[A]]', 'Both. [[C]]', 'The second one']);
    // Two prefills: questions 1 and 2 together (batchSize 2), then question 3; each prompt exactly as rendered.
    const prefills = lm.calls.filter((c) => c.requests.every((r) => r.before === 0));
    expect(prefills.map((c) => c.requests.map((r) => r.tokens))).toEqual([[prompts[0], prompts[1]], [prompts[2]]]);
    expect(lm.liveSequences).toBe(0);
  });

  it('plain text without a chat template; refuses a prompt the context cannot hold', async () => {
    const plainFiles = storiesFiles();
    const plainTok = storiesTokenizer();
    const lm = new FakeLm(fakeConfig(512, 64), () => new Float32Array(512).fill(0).map((_, i) => (i === EOS ? 1 : 0)));
    const judge = new EngineJudge(lm, plainTok, plainFiles, { name: 'fake', maxNewTokens: 4 });
    expect(judge.style).toBe('plain');
    expect(plainConversation(conversation(1))).toBe('Judge fairly.\n\nWhich story is better, number 1?');
    expect(judge.promptIds(conversation(1))).toEqual(plainTok.encode('Judge fairly.\n\nWhich story is better, number 1?'));
    expect(await judge.complete(conversation(1))).toBe('');
    const long: ChatMessage[] = [{ role: 'user', content: 'word '.repeat(80) }];
    expect(() => judge.promptIds(long)).toThrow(JudgePromptTooLongError);
    await expect(judge.complete(long)).rejects.toThrow(/the judge prompt has \d+ tokens and the judge's context holds 64/);
  });

  it('a cancelled call rejects with the signal\'s reason', async () => {
    const lm = new FakeLm(fakeConfig(512, 256), () => new Float32Array(512).map((_, i) => (i === 100 ? 1 : 0)));
    const judge = new EngineJudge(lm, tokenizer, files, { name: 'fake', maxNewTokens: 50 });
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(judge.complete(conversation(1), controller.signal)).rejects.toThrow('stop');
  });

  it('a call cancelled while it decodes rejects with the reason instead of returning the partial judgment', async () => {
    const controller = new AbortController();
    const promptLength = tokenizer.encode(renderChat(files.tokenizerConfig, conversation(1)), { addSpecialTokens: false }).length;
    // Token 100 forever (never EOS); the signal fires once three new tokens are in the history.
    const lm = new FakeLm(fakeConfig(512, 256), (history) => {
      if (history.length >= promptLength + 3) controller.abort(new Error('stopped mid-judgment'));
      return new Float32Array(512).map((_, i) => (i === 100 ? 1 : 0));
    });
    const judge = new EngineJudge(lm, tokenizer, files, { name: 'fake', maxNewTokens: 50 });
    await expect(judge.complete(conversation(1), controller.signal)).rejects.toThrow('stopped mid-judgment');
    expect(controller.signal.aborted).toBe(true);
    expect(lm.liveSequences).toBe(0);
  });
});

describe('answerQuestions', () => {
  it('turn 2 continues the conversation with the model\'s own stripped first answer; one-turn questions get one', async () => {
    const questions = [
      { questionId: 1, category: 'writing', turns: ['Tell a story.', 'Shorter, please.'] },
      { questionId: 2, category: 'writing', turns: ['Only this.'] },
    ];
    const encode = (m: ChatMessage[]) => tokenizer.encode(renderChat(files.tokenizerConfig, m), { addSpecialTokens: false });
    const say = (t: string) => tokenizer.encode(t, { addSpecialTokens: false });
    const q1 = encode([{ role: 'user', content: 'Tell a story.' }]);
    const q2 = encode([{ role: 'user', content: 'Only this.' }]);
    const turn2 = encode([{ role: 'user', content: 'Tell a story.' }, { role: 'assistant', content: 'Once upon a time.' }, { role: 'user', content: 'Shorter, please.' }]);
    const lm = new FakeLm(fakeConfig(512, 256), scripted(512, [[...q1, ...say(' Once upon a time. '), EOS], [...q2, ...say('Yes'), EOS], [...turn2, ...say('Once.'), EOS]], EOS));
    const progress: [number, number][] = [];
    const answers = await answerQuestions(lm, tokenizer, files, questions, { turns: 2, maxNewTokens: 30, onProgress: (d, t) => progress.push([d, t]) });
    expect(answers).toEqual([['Once upon a time.', 'Once.'], ['Yes']]);
    expect(progress).toEqual([[2, 3], [3, 3]]);
    expect(await answerQuestions(lm, tokenizer, files, questions, { turns: 1, maxNewTokens: 30 })).toEqual([['Once upon a time.'], ['Yes']]);
  });
});

describe('EndpointJudge', () => {
  it('posts FastChat\'s request to {baseUrl}/chat/completions, keeps the key out of its records', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      if (seen.length === 2) return new Response('rate limited', { status: 429 });
      return new Response(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'Fine. [[B]]' } }] }), { status: 200 });
    }) as unknown as typeof fetch;
    const judge = new EndpointJudge({ baseUrl: 'http://127.0.0.1:9/v1/', model: 'judge-x', apiKey: 'sk-secret', fetch: fakeFetch });
    expect(judge.name).toBe('judge-x via http://127.0.0.1:9');
    expect(await judge.complete(conversation(1))).toBe('Fine. [[B]]');
    await expect(judge.complete(conversation(2))).rejects.toThrow('http://127.0.0.1:9/v1/chat/completions answered 429: rate limited');
    expect(seen[0].url).toBe('http://127.0.0.1:9/v1/chat/completions');
    expect(seen[0].init.headers).toEqual({ 'content-type': 'application/json', authorization: 'Bearer sk-secret' });
    expect(JSON.parse(seen[0].init.body as string)).toEqual({ model: 'judge-x', messages: conversation(1), n: 1, temperature: 0, max_tokens: 2048 });
    expect(judge.requests.map((r) => [r.url, r.status, r.reply, r.error])).toEqual([
      ['http://127.0.0.1:9/v1/chat/completions', 200, 'Fine. [[B]]', undefined],
      ['http://127.0.0.1:9/v1/chat/completions', 429, undefined, 'http://127.0.0.1:9/v1/chat/completions answered 429: rate limited'],
    ]);
    expect(JSON.stringify(judge.requests)).not.toContain('sk-secret');
    expect(JSON.stringify(judge)).not.toContain('sk-secret');
    expect(() => new EndpointJudge({ baseUrl: 'file:///etc', model: 'm' })).toThrow('the judge endpoint must be http(s), got file:');
  });
});
