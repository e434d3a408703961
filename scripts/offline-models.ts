// The offline model folder (`npm start -- --models DIR`, or env TUNELAB_MODELS=DIR): a Vite plugin for the
// dev and preview servers that lists the model repos under DIR and serves their files at the Hub's resolve
// URLs, so the studio loads them with the same HubSource it uses for huggingface.co:
//   GET /__tunelab/models                                  → { models: [{ id, architecture, files, bytes }] }
//   GET /__tunelab/hub/<id>/resolve/<revision>/<file>      → the file (any revision: a folder has one state)
// Nothing outside DIR is ever served: '..' and empty segments are refused, and symlinks must stay inside.
// Nothing hidden is served or listed either: a name that starts with '.' (a dotfile such as .env, a
// dot-folder such as .git or .cache) is refused in the requested path (also %-encoded) and in the path a
// symlink resolves to. A client that goes away mid-file closes the file at once.

import { createReadStream } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Plugin } from 'vite';

export const MODELS_PATH = '/__tunelab/models';
export const HUB_PATH = '/__tunelab/hub';

export interface OfflineModel {
  /** Path of the repo folder below DIR with '/' separators: `org/name` or `name`. */
  id: string;
  /** config.json's architectures[0] (else model_type, else 'unknown'). */
  architecture: string;
  /** Files directly in the repo folder, sorted. */
  files: string[];
  /** Their total size. */
  bytes: number;
}

type Next = (err?: unknown) => void;
export type OfflineModelsHandler = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** True when `path` (resolved, symlinks followed) is `root` or inside it. */
function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Dotfiles and dot-folders (.git, .env, .cache, ...) are never listed or served. */
function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/** The first hidden name on the way from `root` down to `path` (both resolved), if any. */
function hiddenPart(root: string, path: string): string | undefined {
  return relative(root, path).split(sep).find(isHidden);
}

async function realpathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function architectureOf(configPath: string): Promise<string> {
  try {
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { architectures?: unknown; model_type?: unknown };
    if (Array.isArray(config.architectures) && typeof config.architectures[0] === 'string') return config.architectures[0];
    if (typeof config.model_type === 'string') return config.model_type;
  } catch {
    // Listed anyway: loading it gives the precise error (bad JSON, missing field) to the user.
  }
  return 'unknown';
}

async function describeModel(root: string, dir: string, id: string): Promise<OfflineModel> {
  const files: string[] = [];
  let bytes = 0;
  for (const entry of await readdir(dir)) {
    if (isHidden(entry)) continue;
    const real = await realpathOrUndefined(join(dir, entry));
    if (!real || !inside(root, real) || hiddenPart(root, real)) continue;
    const info = await stat(real);
    if (!info.isFile()) continue;
    files.push(entry);
    bytes += info.size;
  }
  files.sort();
  return { id, architecture: await architectureOf(join(dir, 'config.json')), files, bytes };
}

async function subfolders(root: string, dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (isHidden(entry.name)) continue;
    const real = await realpathOrUndefined(join(dir, entry.name));
    if (real && inside(root, real) && !hiddenPart(root, real) && (await stat(real)).isDirectory()) names.push(entry.name);
  }
  return names.sort();
}

/** Every folder one or two levels below `dir` that holds a config.json, sorted by id. */
export async function listOfflineModels(dir: string): Promise<OfflineModel[]> {
  const root = await realpath(dir);
  const models: OfflineModel[] = [];
  for (const first of await subfolders(root, root)) {
    const firstDir = join(root, first);
    if (await isFile(join(firstDir, 'config.json'))) {
      models.push(await describeModel(root, firstDir, first));
      continue;
    }
    for (const second of await subfolders(root, firstDir)) {
      const secondDir = join(firstDir, second);
      if (await isFile(join(secondDir, 'config.json'))) models.push(await describeModel(root, secondDir, `${first}/${second}`));
    }
  }
  return models;
}

interface Refusal {
  status: 400 | 403;
  refused: string;
}

const HIDDEN_REFUSAL = 'names that start with "." (dotfiles and dot-folders such as .git) are never served';

/** `<id>/resolve/<revision>/<file>` split into decoded parts, or a reason it is refused. */
function parseResolvePath(rest: string): { id: string[]; file: string[] } | Refusal {
  let segments: string[];
  try {
    segments = rest.split('/').map(decodeURIComponent);
  } catch {
    return { status: 400, refused: 'bad %-encoding' };
  }
  const at = segments.indexOf('resolve');
  if (at < 1 || at > 2 || segments.length < at + 3) return { status: 400, refused: 'expected /<id>/resolve/<revision>/<file>' };
  const id = segments.slice(0, at);
  const file = segments.slice(at + 2);
  for (const s of [...id, ...file]) {
    if (s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('/') || s.includes('\0')) {
      return { status: 400, refused: `"${s}" is not a file or folder name` };
    }
    if (isHidden(s)) return { status: 403, refused: `"${s}": ${HIDDEN_REFUSAL}` };
  }
  return { id, file };
}

function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.setHeader('Cache-Control', 'no-store');
  res.end(head ? undefined : text);
}

function sendError(res: ServerResponse, status: number, message: string, errorCode?: string): void {
  res.statusCode = status;
  // Same header as the Hub, so HubSource tells a missing repo from a missing (optional) file.
  if (errorCode) res.setHeader('X-Error-Code', errorCode);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(message);
}

async function serveFile(root: string | undefined, rest: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!root) return sendError(res, 404, 'no offline model folder (start the studio with npm start -- --models DIR)', 'RepoNotFound');
  const parsed = parseResolvePath(rest);
  if ('refused' in parsed) return sendError(res, parsed.status, parsed.refused);
  const realRoot = await realpath(root);
  const repoDir = await realpathOrUndefined(resolve(realRoot, ...parsed.id));
  if (!repoDir || !inside(realRoot, repoDir) || !(await isFile(join(repoDir, 'config.json')))) {
    return sendError(res, 404, `no model ${parsed.id.join('/')} in the offline folder`, 'RepoNotFound');
  }
  const path = await realpathOrUndefined(resolve(repoDir, ...parsed.file));
  const info = path && inside(realRoot, path) ? await stat(path) : undefined;
  if (!path || !info?.isFile()) return sendError(res, 404, `no file ${parsed.file.join('/')} in ${parsed.id.join('/')}`, 'EntryNotFound');
  // A symlink with a plain name may lead to a hidden file inside the folder.
  const hidden = hiddenPart(realRoot, path);
  if (hidden) return sendError(res, 403, `${parsed.file.join('/')} leads to "${hidden}": ${HIDDEN_REFUSAL}`);
  res.statusCode = 200;
  res.setHeader('Content-Type', path.endsWith('.json') ? 'application/json; charset=utf-8' : 'application/octet-stream');
  res.setHeader('Content-Length', info.size);
  res.setHeader('Cache-Control', 'no-cache');
  if (req.method === 'HEAD') return void res.end();
  try {
    // pipeline destroys the file stream (closing its descriptor) when the client goes away mid-file.
    await pipeline(createReadStream(path), res);
  } catch {
    // A client that went away, or a read error after the headers: the response is cut short.
    res.destroy();
  }
}

/** The middleware behind the plugin (usable on any node:http server). `dir` undefined: no folder. */
export function offlineModelsHandler(dir: string | undefined): OfflineModelsHandler {
  const root = dir ? resolve(dir) : undefined;
  return (req, res, next) => {
    // The raw path, never a normalised one: '/__tunelab/hub/x/../..' must be refused, not quietly resolved.
    const rawPath = (req.url ?? '/').split(/[?#]/)[0];
    const isModels = rawPath === MODELS_PATH;
    const isHub = rawPath.startsWith(`${HUB_PATH}/`);
    if (!isModels && !isHub) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendError(res, 405, `${req.method} is not allowed here`);
    }
    const work = isModels
      ? (root ? listOfflineModels(root) : Promise.resolve([])).then((models) => sendJson(res, 200, { models }, req.method === 'HEAD'))
      : serveFile(root, rawPath.slice(HUB_PATH.length + 1), req, res);
    work.catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `offline model folder: ${(err as Error).message}`);
      else res.destroy();
    });
  };
}

/** Vite plugin: the offline model folder on `vite` (dev) and `vite preview`. */
export function offlineModels(dir: string | undefined): Plugin {
  const handler = offlineModelsHandler(dir);
  const announce = (info: (msg: string) => void) => {
    if (!dir) return;
    listOfflineModels(dir).then(
      (models) => info(`Offline models: ${resolve(dir)} (${models.length} model${models.length === 1 ? '' : 's'}${models.length ? `: ${models.map((m) => m.id).join(', ')}` : ''})`),
      (err: unknown) => info(`Offline models: ${resolve(dir)} cannot be read (${(err as Error).message})`),
    );
  };
  return {
    name: 'tunelab-offline-models',
    configureServer(server) {
      server.middlewares.use(handler);
      announce((msg) => server.config.logger.info(msg));
    },
    configurePreviewServer(server) {
      server.middlewares.use(handler);
      announce((msg) => server.config.logger.info(msg));
    },
  };
}
