// A local stand-in for the Hugging Face Hub: answers `/<id>/resolve/<revision>/<file>` from `<dir>/<id>/<file>`
// with Content-Length, counts the requests per path, and can be told to refuse a repo (gated: 401) or to
// break a download half-way (the socket is destroyed mid-body).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface HubServer {
  /** e.g. http://127.0.0.1:41234 — pass as HubSource's endpoint. */
  endpoint: string;
  /** Requests per URL path (`/stories260K/resolve/main/config.json`). */
  readonly requests: Map<string, number>;
  /** Requests whose path ends with `/<file>` (any repo, any revision). */
  requestsFor(file: string): number;
  totalRequests(): number;
  /** Answer every request for this repo id with `status` (401: gated). */
  deny(id: string, status?: number): void;
  /** Send the headers and about half of this file's body, then destroy the socket (every time). */
  truncate(id: string, file: string): void;
  /** Undo deny and truncate. */
  reset(): void;
  close(): Promise<void>;
}

export async function startHubServer(dir: string): Promise<HubServer> {
  const requests = new Map<string, number>();
  const denied = new Map<string, number>();
  const truncated = new Set<string>();

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const segments = path.split('/').slice(1).map(decodeURIComponent);
    const at = segments.indexOf('resolve');
    if (at < 1 || at > 2 || segments.length < at + 3 || segments.some((s) => s === '..' || s === '')) {
      res.writeHead(400).end('bad resolve path');
      return;
    }
    const id = segments.slice(0, at).join('/');
    const file = segments.slice(at + 2).join('/');
    const status = denied.get(id);
    if (status !== undefined) {
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end('Access to this model is restricted.');
      return;
    }
    readFile(join(dir, id, file)).then(
      (data) => {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.byteLength });
        if (truncated.has(`${id}/${file}`)) {
          // Flushes the first half, then kills the connection: the client sees a body shorter than promised.
          res.write(data.subarray(0, data.byteLength >> 1), () => setTimeout(() => res.socket?.destroy(), 10));
          return;
        }
        res.end(data);
      },
      () => {
        // The Hub's answers for a missing file of an existing repo, and for a missing repo.
        const repoExists = existsSync(join(dir, id, 'config.json'));
        const code = repoExists ? 'EntryNotFound' : 'RepoNotFound';
        res.writeHead(404, { 'Content-Type': 'text/plain', 'X-Error-Code': code }).end(code);
      },
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    requestsFor: (file) => [...requests].filter(([p]) => p.endsWith(`/${file}`)).reduce((n, [, c]) => n + c, 0),
    totalRequests: () => [...requests.values()].reduce((a, b) => a + b, 0),
    deny: (id, status = 401) => void denied.set(id, status),
    truncate: (id, file) => void truncated.add(`${id}/${file}`),
    reset: () => {
      denied.clear();
      truncated.clear();
    },
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((err) => (err ? fail(err) : done()));
        // Keep-alive sockets from fetch would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
