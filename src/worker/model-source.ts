// Turns the page's ModelRequest into the engine's ModelSource: the Hub (or a mirror) with downloads kept in
// Cache Storage, the server's offline folder through the same Hub protocol, the files the user picked, or the
// built-in demo model.

import { DemoModelSource } from '../engine/demo/demo-source';
import { HubSource } from '../engine/model/hub-source';
import { FileListSource } from '../engine/model/file-list-source';
import type { ModelSource } from '../engine/model/source';
import { CacheStorageFileCache } from '../storage/cache-storage-file-cache';
import { checkConnect } from './connect-policy';
import { offlineHubEndpoint } from './offline-models';
import type { ModelRequest } from './protocol';

let hubCache: CacheStorageFileCache | null | undefined;

/** The download cache, or null where Cache Storage is missing (downloads then simply are not kept). */
function downloadCache(): CacheStorageFileCache | null {
  if (hubCache === undefined) {
    try {
      hubCache = new CacheStorageFileCache();
    } catch (err) {
      console.warn(`Tunelab: downloads will not be cached (${(err as Error).message})`);
      hubCache = null;
    }
  }
  return hubCache;
}

export function modelSource(request: ModelRequest): ModelSource {
  switch (request.kind) {
    case 'hub':
      // The page refuses such an endpoint already; this also covers a worker a page script started itself.
      checkConnect('The Hub endpoint', request.endpoint);
      return new HubSource(request.id, {
        endpoint: request.endpoint,
        revision: request.revision,
        cache: downloadCache() ?? undefined,
      });
    case 'offline':
      // Files on the studio's own server are local already: caching them would only copy them.
      return new HubSource(request.id, { endpoint: offlineHubEndpoint() });
    case 'files':
      if (request.files.length === 0) throw new Error('No files were picked: pick a model folder or its files.');
      return new FileListSource(request.files);
    case 'demo':
      return new DemoModelSource();
  }
}
