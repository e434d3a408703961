// `--model X`: an existing folder, a Hub repo id (with endpoint and cache from options or environment), or
// a clear error.

import { readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFiles } from '../../src/engine/model/model-files';
import { HubSource } from '../../src/engine/model/hub-source';
import { DirectorySource } from '../../src/node/directory-source';
import { resolveModelSource } from '../../src/node/resolve-model-source';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { makeTempDir, removeTempDir } from '../helpers/tiny-models';

const MODELS = resolve(__dirname, '../../../shared/assets/models');
const STORIES = join(MODELS, 'stories260K');

let server: HubServer;
let temp: string;
beforeAll(async () => {
  server = await startHubServer(MODELS);
  temp = await makeTempDir('tunelab-resolve-');
});
afterAll(async () => {
  await server.close();
  await removeTempDir(temp);
});

describe('resolveModelSource', () => {
  it('an existing folder is a DirectorySource', async () => {
    const source = await resolveModelSource(STORIES);
    expect(source).toBeInstanceOf(DirectorySource);
    expect(source.id).toBe(STORIES);
    expect((await loadModelFiles(source)).config.numLayers).toBe(5);
  });

  it('a Hub id that is no folder is a HubSource that downloads into the cache folder', async () => {
    const cacheDir = join(temp, 'cache');
    // 'stories260K' is not a folder under the working directory, so it is a Hub id.
    const source = await resolveModelSource('stories260K', { endpoint: server.endpoint, cacheDir });
    expect(source).toBeInstanceOf(HubSource);
    const files = await loadModelFiles(source);
    expect(files.config.vocabSize).toBe(512);
    const host = new URL(server.endpoint).host.replace(':', '%3A');
    expect((await readdir(join(cacheDir, host, 'stories260K', 'main'))).sort()).toEqual(
      ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
    );
  });

  it('takes the endpoint from TUNELAB_HUB_ENDPOINT, then HF_ENDPOINT, then huggingface.co; the revision from options', async () => {
    const id = 'HuggingFaceTB/SmolLM2-135M-Instruct';
    const a = (await resolveModelSource(id, { env: { TUNELAB_HUB_ENDPOINT: 'http://mirror.a', HF_ENDPOINT: 'http://mirror.b' }, cacheDir: temp })) as HubSource;
    expect(a.url('config.json')).toBe(`http://mirror.a/${id}/resolve/main/config.json`);
    const b = (await resolveModelSource(id, { env: { HF_ENDPOINT: 'http://mirror.b/' }, revision: 'v1.0', cacheDir: temp })) as HubSource;
    expect(b.url('config.json')).toBe(`http://mirror.b/${id}/resolve/v1.0/config.json`);
    const c = (await resolveModelSource(id, { env: {}, endpoint: 'http://given', cacheDir: temp })) as HubSource;
    expect(c.endpoint).toBe('http://given');
    const d = (await resolveModelSource(id, { env: {}, cacheDir: temp })) as HubSource;
    expect(d.url('config.json')).toBe(`https://huggingface.co/${id}/resolve/main/config.json`);
  });

  it('neither a folder nor a Hub id: a clear error', async () => {
    for (const arg of ['./no/such/folder', '/no/such/folder', 'not a model!', 'a/b/c']) {
      await expect(resolveModelSource(arg, { cacheDir: temp }), arg).rejects.toThrow(`no such folder and not a Hub id: ${arg}`);
    }
    await expect(resolveModelSource('', { cacheDir: temp })).rejects.toThrow('no model given');
  });

  it('a file is refused with a hint to give its folder', async () => {
    const file = join(temp, 'config.json');
    await writeFile(file, '{}');
    await expect(resolveModelSource(file)).rejects.toThrow(`${file} is a file`);
  });
});
