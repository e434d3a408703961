// The built studio's Content-Security-Policy, as a <meta http-equiv> at the top of dist/index.html. Build
// only: the dev server's HMR client runs inline scripts and connects a WebSocket, so `npm start` has no policy.
//
//   default-src 'self'       everything else (images, fonts, the offline model folder) from the studio's origin
//   script-src 'self' 'wasm-unsafe-eval'
//                            the bundle's module scripts only: no inline script, no eval of JavaScript;
//                            WebAssembly may compile (long.js, under protobufjs in the studio worker, tries
//                            a small wasm module at start; onnxruntime-web runs on wasm)
//   style-src 'self'         the bundle's stylesheet (Svelte and uPlot set element styles through the CSSOM,
//                            which the policy allows; index.html has no style attributes)
//   connect-src 'self' + the Hub and its download hosts + TUNELAB_CONNECT_SRC (src/worker/connect-policy.ts)
//   worker-src 'self' blob:  the studio worker starts from a blob: that imports its script, so it runs
//                            under this policy (a worker from a URL would run under none, see client.ts)
//   object-src 'none', base-uri 'none', form-action 'self'   (these three do not fall back to default-src)
//
// The build also defines __TUNELAB_CONNECT_SOURCES__ so the page and the worker refuse a Hub mirror or judge
// endpoint the policy blocks with a message, instead of the browser's "Failed to fetch".

import type { Plugin } from 'vite';
import { CONNECT_SRC_VARIABLE, HUB_CONNECT_SOURCES, parseConnectSources } from '../src/worker/connect-policy.ts';

/** connect-src's host sources: the Hub's, then the extra ones (TUNELAB_CONNECT_SRC's text). */
export function connectSources(extra: string | undefined): string[] {
  const sources = [...HUB_CONNECT_SOURCES];
  for (const source of parseConnectSources(extra ?? '')) if (!sources.includes(source)) sources.push(source);
  return sources;
}

export function contentSecurityPolicy(connect: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    `connect-src 'self' ${connect.join(' ')}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** Vite plugin: the policy in the built index.html; `extra` is TUNELAB_CONNECT_SRC (checked here, so a bad
 * value fails the build naming the entry). */
export function contentSecurityPolicyPlugin(extra: string | undefined = process.env[CONNECT_SRC_VARIABLE]): Plugin {
  let connect: string[] = [];
  return {
    name: 'tunelab-content-security-policy',
    apply: 'build',
    config() {
      connect = connectSources(extra);
      return { define: { __TUNELAB_CONNECT_SOURCES__: JSON.stringify(connect) } };
    },
    transformIndexHtml: {
      order: 'post',
      handler: () => [
        {
          tag: 'meta',
          attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy(connect) },
          injectTo: 'head-prepend',
        },
      ],
    },
  };
}
