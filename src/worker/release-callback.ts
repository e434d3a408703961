// Callbacks from the page arrive as comlink proxies, each with its own message channel.

import * as Comlink from 'comlink';

/** Closes the channel comlink opened for a callback passed with proxy() (nothing for no callback). */
export function releaseCallback(fn: unknown): void {
  (fn as Partial<Record<typeof Comlink.releaseProxy, () => void>> | undefined)?.[Comlink.releaseProxy]?.();
}
