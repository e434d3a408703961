// A stand-in for the Hugging Face Hub that a page on another origin can download from: answers
// `/<id>/resolve/<revision>/<file>` from a folder with the CORS headers the real Hub sends, counts the
// requests per file, can refuse a repo like a gated one (401), and serves extra in-memory files (broken
// configs, a tokenizer_config with a chat template) and aliases of the folder's repos. tests/helpers/hub-server.ts answers the same URLs for Node, but without CORS a browser cannot
// read its answers.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface HubMirror {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  /** Requests whose path ends with `/<id>/resolve/<any revision>/<file>`. */
  requestsFor(id: string, file: string): number;
  /** Answer every request for this repo with 401, as the Hub does for a gated repo without a token. */
  deny(id: string): void;
  close(): Promise<void>;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  // The Hub exposes these; HubSource reads X-Error-Code to tell a missing repo from a missing file.
  'Access-Control-Expose-Headers': 'X-Error-Code, Content-Length',
};

export interface HubMirrorOptions {
  /** `<id>/<file>` -> contents, served in addition to (and before) the folder's files. */
  extra?: Record<string, string>;
  /** Repo id -> folder under `dir` whose files it serves (where `extra` has none). */
  aliases?: Record<string, string>;
}

export async function startHubMirror(dir: string, options: HubMirrorOptions = {}): Promise<HubMirror> {
  const extra = options.extra ?? {};
  const aliases = options.aliases ?? {};
  const requests: string[] = [];
  const denied = new Set<string>();

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': '*' }).end();
      return;
    }
    const segments = path.split('/').slice(1).map(decodeURIComponent);
    const at = segments.indexOf('resolve');
    if (at < 1 || at > 2 || segments.length < at + 3 || segments.some((s) => s === '' || s === '..')) {
      res.writeHead(400, CORS).end('expected /<id>/resolve/<revision>/<file>');
      return;
    }
    const id = segments.slice(0, at).join('/');
    const file = segments.slice(at + 2).join('/');
    requests.push(`${id}/${file}`);
    if (denied.has(id)) {
      res.writeHead(401, { ...CORS, 'Content-Type': 'text/plain' }).end('Access to this model is restricted.');
      return;
    }
    const inMemory = extra[`${id}/${file}`];
    const folder = join(dir, aliases[id] ?? id);
    const body = inMemory !== undefined ? Promise.resolve(Buffer.from(inMemory)) : readFile(join(folder, file));
    body.then(
      (data) => {
        res.writeHead(200, { ...CORS, 'Content-Type': 'application/octet-stream', 'Content-Length': data.byteLength }).end(data);
      },
      () => {
        const repoExists = existsSync(join(folder, 'config.json')) || `${id}/config.json` in extra;
        const code = repoExists ? 'EntryNotFound' : 'RepoNotFound';
        res.writeHead(404, { ...CORS, 'Content-Type': 'text/plain', 'X-Error-Code': code }).end(code);
      },
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requestsFor: (id, file) => requests.filter((r) => r === `${id}/${file}`).length,
    deny: (id) => void denied.add(id),
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((err) => (err ? fail(err) : done()));
        server.closeAllConnections();
      }),
  };
}
