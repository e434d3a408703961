// `npm start`'s arguments (scripts/start-args.mjs): Tunelab's own flags are taken out of what vite gets, and
// `--host` on anything but loopback is refused, saying why, unless --expose-models-to-network is given;
// start.mjs itself exits with that message before installing or serving anything.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EXPOSE_FLAG, parseStartArgs } from '../../scripts/start-args.mjs';

const ROOT = resolve(__dirname, '../..');

describe('npm start arguments', () => {
  test('--models (both spellings) and TUNELAB_MODELS give the folder; vite gets the rest', () => {
    expect(parseStartArgs(['--models', 'm', '--port', '3000'], {})).toEqual({ ok: true, modelsDir: 'm', viteArgs: ['--port', '3000'] });
    expect(parseStartArgs(['--models=dir/x'], { TUNELAB_MODELS: 'env' })).toEqual({ ok: true, modelsDir: 'dir/x', viteArgs: [] });
    expect(parseStartArgs([], { TUNELAB_MODELS: 'env' })).toEqual({ ok: true, modelsDir: 'env', viteArgs: [] });
    expect(parseStartArgs([], { TUNELAB_MODELS: '' })).toEqual({ ok: true, modelsDir: undefined, viteArgs: [] });
    expect(parseStartArgs(['--models'], {})).toEqual({ ok: false, message: '--models needs a folder: npm start -- --models DIR' });
    expect(parseStartArgs(['--models', '--host'], {})).toEqual({ ok: false, message: '--models needs a folder: npm start -- --models DIR' });
  });

  test('--host alone, with a value or with =value is refused without the flag, naming the folder and the way out', () => {
    expect(parseStartArgs(['--models', '/srv/models', '--host'], {})).toEqual({
      ok: false,
      message:
        'Refusing --host without --expose-models-to-network: it serves the studio on every network interface, so anyone who can reach this machine ' +
        'could download every file of the offline model folder /srv/models. Add --expose-models-to-network if that is what you want, or leave out --host to stay on 127.0.0.1.',
    });
    expect(parseStartArgs(['--host', '0.0.0.0'], { TUNELAB_MODELS: '/srv/m' })).toEqual({
      ok: false,
      message:
        'Refusing --host 0.0.0.0 without --expose-models-to-network: it serves the studio on 0.0.0.0, so anyone who can reach this machine ' +
        'could download every file of the offline model folder /srv/m. Add --expose-models-to-network if that is what you want, or leave out --host to stay on 127.0.0.1.',
    });
    // Without a folder yet: still refused (the folder can come from TUNELAB_MODELS), and said so.
    const bare = parseStartArgs(['--host=192.168.1.5', '--port', '80'], {});
    expect(bare).toEqual({
      ok: false,
      message:
        'Refusing --host 192.168.1.5 without --expose-models-to-network: it serves the studio on 192.168.1.5, so anyone who can reach this machine ' +
        'could download every file of the offline model folder whenever one is set (--models or TUNELAB_MODELS). Add --expose-models-to-network if that is what you want, or leave out --host to stay on 127.0.0.1.',
    });
    expect(parseStartArgs(['--host=', '--models', 'm'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^Refusing --host without .* every network interface/) });
    expect(parseStartArgs(['--host', '--port', '3000'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^Refusing --host without /) });
  });

  test('with --expose-models-to-network (before or after) the host goes to vite, the flag does not', () => {
    expect(EXPOSE_FLAG).toBe('--expose-models-to-network');
    expect(parseStartArgs(['--host', EXPOSE_FLAG, '--models', 'm'], {})).toEqual({ ok: true, modelsDir: 'm', viteArgs: ['--host'] });
    expect(parseStartArgs([EXPOSE_FLAG, '--host', '0.0.0.0'], {})).toEqual({ ok: true, modelsDir: undefined, viteArgs: ['--host', '0.0.0.0'] });
    expect(parseStartArgs(['--host=::', EXPOSE_FLAG], {})).toEqual({ ok: true, modelsDir: undefined, viteArgs: ['--host=::'] });
  });

  test('a loopback --host stays allowed without the flag', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      expect(parseStartArgs(['--host', host, '--models', 'm'], {})).toEqual({ ok: true, modelsDir: 'm', viteArgs: ['--host', host] });
      expect(parseStartArgs([`--host=${host}`], {})).toEqual({ ok: true, modelsDir: undefined, viteArgs: [`--host=${host}`] });
    }
  });

  test('start.mjs exits with code 2 and the message before installing or serving anything', () => {
    const run = spawnSync(process.execPath, ['scripts/start.mjs', '--host', '--models', 'nowhere'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      'Refusing --host without --expose-models-to-network: it serves the studio on every network interface, so anyone who can reach this machine ' +
        'could download every file of the offline model folder nowhere. Add --expose-models-to-network if that is what you want, or leave out --host to stay on 127.0.0.1.',
    );
  });
});
