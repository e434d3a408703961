// Where Hub downloads come from: huggingface.co or a mirror / local server that answers the Hub's
// `/<id>/resolve/<revision>/<file>` URLs. Remembered in localStorage across reloads. The built studio's
// Content-Security-Policy decides which endpoints it can reach (worker/connect-policy.ts).

import { builtConnectProblem, builtConnectSources, CONNECT_SRC_VARIABLE, describeSources } from '../worker/connect-policy';

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
  const blocked = blockedEndpoint(trimmed);
  if (blocked) return { error: blocked };
  return { endpoint: url.href.replace(/\/+$/, '') };
}

/** Why this build's policy blocks the endpoint, or null. */
export function blockedEndpoint(endpoint: string): string | null {
  return builtConnectProblem('The Hub endpoint', endpoint);
}

function policyNote(): string | null {
  const sources = builtConnectSources();
  if (sources === null) return null;
  return `This build’s Content-Security-Policy lets the studio connect only to ${describeSources(sources)}; ${CONNECT_SRC_VARIABLE}=<origin> npm run build adds a mirror.`;
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

  /** An endpoint remembered from another build (or the dev server) that this build's policy blocks. */
  readonly blocked = $derived(blockedEndpoint(this.endpoint));

  /** Which endpoints this build can reach, in words; null without a built-in policy (dev server). */
  readonly reachable: string | null = policyNote();

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
