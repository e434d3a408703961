// Where Hub downloads come from: huggingface.co or a mirror / local server that answers the Hub's
// `/<id>/resolve/<revision>/<file>` URLs. Remembered in localStorage across reloads.

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
const STORAGE_KEY = 'tunelab.hubEndpoint';

/** The endpoint without a trailing slash, or an error message. */
export function parseEndpoint(text: string): { endpoint: string } | { error: string } {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { error: `"${trimmed}" is not a URL (expected e.g. ${DEFAULT_HUB_ENDPOINT})` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: `"${trimmed}" must start with https:// or http://` };
  if (url.search || url.hash) return { error: `"${trimmed}" must not have a query or fragment` };
  return { endpoint: url.href.replace(/\/+$/, '') };
}

function stored(): string {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? DEFAULT_HUB_ENDPOINT;
  } catch {
    return DEFAULT_HUB_ENDPOINT; // storage blocked: use the default
  }
}

export class HubSettings {
  /** The endpoint in use. */
  endpoint = $state(stored());

  readonly isDefault = $derived(this.endpoint === DEFAULT_HUB_ENDPOINT);

  /** Sets the endpoint; returns an error message for a bad URL (and keeps the old one). */
  setEndpoint(text: string): string | null {
    const parsed = parseEndpoint(text === '' ? DEFAULT_HUB_ENDPOINT : text);
    if ('error' in parsed) return parsed.error;
    this.endpoint = parsed.endpoint;
    try {
      if (parsed.endpoint === DEFAULT_HUB_ENDPOINT) localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, parsed.endpoint);
    } catch {
      // Not remembered, still used for this session.
    }
    return null;
  }
}
