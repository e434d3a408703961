// The studio server's offline model folder (`npm start -- --models DIR`): `GET /__tunelab/models` lists
// its repos, and `/__tunelab/hub` answers the Hub's resolve URLs for them.

import type { OfflineListing, OfflineModel } from './protocol';

export const OFFLINE_MODELS_PATH = '/__tunelab/models';
export const OFFLINE_HUB_PATH = '/__tunelab/hub';

/** The Hub endpoint that serves the offline folder, on the studio's own origin. */
export function offlineHubEndpoint(origin: string = self.location.origin): string {
  return `${origin}${OFFLINE_HUB_PATH}`;
}

function isOfflineModel(m: unknown): m is OfflineModel {
  const o = m as Partial<OfflineModel> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.id === 'string' &&
    typeof o.architecture === 'string' &&
    Array.isArray(o.files) &&
    o.files.every((f) => typeof f === 'string') &&
    typeof o.bytes === 'number'
  );
}

export async function listOfflineModels(origin: string = self.location.origin): Promise<OfflineListing> {
  const url = `${origin}${OFFLINE_MODELS_PATH}`;
  let response: Response;
  try {
    response = await fetch(url, { cache: 'no-store' });
  } catch (err) {
    return { available: false, reason: `${url} could not be fetched (${(err as Error).message})` };
  }
  if (response.status === 404) {
    return { available: false, reason: 'The server was started without an offline model folder (npm start -- --models DIR).' };
  }
  if (!response.ok) return { available: false, reason: `${url} answered HTTP ${response.status}` };
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) {
    // A static host answers unknown paths with index.html: no offline folder there.
    return { available: false, reason: 'This server has no offline model folder (start the studio with npm start -- --models DIR).' };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (err) {
    return { available: false, reason: `${url} did not answer JSON (${(err as Error).message})` };
  }
  const models = (body as { models?: unknown } | null)?.models;
  if (!Array.isArray(models) || !models.every(isOfflineModel)) {
    return { available: false, reason: `${url} answered JSON without a valid "models" list` };
  }
  return { available: true, models };
}
