// Files the user picked (folder or multi-file picker), as File objects: matching by path and base name,
// byte-exact reads with progress, and the ambiguous picks that must fail.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileListSource, type PickedFile } from '../../src/engine/model/file-list-source';
import { loadModelFiles } from '../../src/engine/model/model-files';
import type { DownloadProgress } from '../../src/engine/model/source';

const STORIES = resolve(__dirname, '../../../shared/assets/models/stories260K');
const NAMES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

/** A File as a folder picker gives it: with its path under the picked folder. */
function inFolder(file: File, relativePath: string): PickedFile {
  return { name: file.name, size: file.size, webkitRelativePath: relativePath, stream: () => file.stream() };
}

async function diskFile(name: string, as = name): Promise<File> {
  return new File([await readFile(join(STORIES, name))], as);
}

describe('FileListSource', () => {
  it('loads stories260K from picked files byte-exact, with progress ending at loaded == total', async () => {
    const files = await Promise.all(NAMES.map((n) => diskFile(n)));
    const source = new FileListSource(files);
    expect(source.id).toBe('5 picked files');
    const events: DownloadProgress[] = [];
    const model = await loadModelFiles(source, (p) => events.push(p));
    expect(model.config).toMatchObject({ architecture: 'llama', numLayers: 5, vocabSize: 512 });
    expect(model.generationConfig).toBeDefined();
    const weights = new Uint8Array(await readFile(join(STORIES, 'model.safetensors')));
    const read = await source.read('model.safetensors');
    expect(Buffer.from(read!).equals(Buffer.from(weights))).toBe(true);
    for (const name of NAMES) {
      const mine = events.filter((e) => e.file === name);
      for (let i = 1; i < mine.length; i++) expect(mine[i].loaded).toBeGreaterThanOrEqual(mine[i - 1].loaded);
      const size = (await readFile(join(STORIES, name))).byteLength;
      expect(mine.at(-1), name).toEqual({ file: name, loaded: size, total: size, cached: true });
    }
  });

  it('a picked folder: the file at the folder root wins over same-named files in subfolders', async () => {
    const root = await Promise.all(NAMES.map(async (n) => inFolder(await diskFile(n), `stories260K/${n}`)));
    const decoy = inFolder(new File(['{"architectures": ["Nope"]}'], 'config.json'), 'stories260K/checkpoint-10/config.json');
    const source = new FileListSource([decoy, ...root]);
    expect(source.id).toBe('stories260K (picked folder)');
    expect((await loadModelFiles(source)).rawConfig.architectures).toEqual(['LlamaForCausalLM']);
    expect(new TextDecoder().decode(await source.read('checkpoint-10/config.json'))).toContain('Nope');
  });

  it('a missing file is undefined; two picked files with the same name are an error naming both', async () => {
    const source = new FileListSource([await diskFile('config.json')]);
    expect(await source.read('tokenizer.json')).toBeUndefined();
    const twice = new FileListSource([
      inFolder(new File(['{}'], 'config.json'), 'pick/a/config.json'),
      inFolder(new File(['{}'], 'config.json'), 'pick/b/config.json'),
    ]);
    await expect(twice.read('config.json')).rejects.toThrow('several picked files are named config.json (pick/a/config.json, pick/b/config.json)');
  });

  it('a file whose size changed after it was picked is an error, not a silently short read', async () => {
    const real = new File([new Uint8Array(10)], 'model.safetensors');
    const lying: PickedFile = { name: real.name, size: 20, stream: () => real.stream() };
    await expect(new FileListSource([lying]).read('model.safetensors')).rejects.toThrow('model.safetensors: read 10 of 20 bytes');
  });

  it('a picked file over the size limit is refused by its size before any of it is read', async () => {
    // A 6 GB shard, as the picker describes it: neither stream() nor arrayBuffer() may be called.
    let reads = 0;
    const huge: PickedFile = {
      name: 'model-00001-of-00002.safetensors',
      size: 6e9,
      stream: () => {
        reads++;
        return new File([], 'x').stream();
      },
      arrayBuffer: async () => {
        reads++;
        return new ArrayBuffer(0);
      },
    };
    const why = 'model-00001-of-00002.safetensors: the picked file is 5.59 GiB (6000000000 bytes), over the limit of 4.66 GiB (5000000000 bytes) for one model file; not read';
    await expect(new FileListSource([huge]).read('model-00001-of-00002.safetensors')).rejects.toThrow(why);
    await expect(new FileListSource([huge]).read('model-00001-of-00002.safetensors', () => {})).rejects.toThrow(why);
    expect(reads).toBe(0);
  });
});
