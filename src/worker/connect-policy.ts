// Which servers the built studio may connect to (its Content-Security-Policy's connect-src, written by
// scripts/content-security-policy.ts) and the check that turns a blocked URL into a clear refusal before
// the browser's opaque "Failed to fetch". Pure: the build, the page and the studio worker share it.
//
// Why a fixed list: a <meta> policy is part of the built index.html, so it cannot follow the Hub mirror a
// user types at run time. The build allows the Hugging Face Hub and the hosts its downloads redirect to
// (CSP applies to every redirect), plus the origins named in TUNELAB_CONNECT_SRC when building; a Hub
// mirror or judge endpoint outside that list is refused here, naming the variable that would allow it.

/** The Hub and its download hosts. `*.hf.co` covers the LFS and Xet CDNs that `resolve` URLs redirect to
 * (cdn-lfs.hf.co, cdn-lfs-us-1.hf.co, cas-bridge.xethub.hf.co, transfer.xethub.hf.co, us.aws.cdn.hf.co, ...:
 * huggingface.co/.well-known/meta.json lists the current ones and they change), `*.huggingface.co` the legacy
 * cdn-lfs hosts. Wildcards over Hugging Face's own domains keep downloads working when the CDN moves. */
export const HUB_CONNECT_SOURCES: readonly string[] = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'];

/** The build-time variable that adds origins (a Hub mirror, a judge endpoint) to connect-src. */
export const CONNECT_SRC_VARIABLE = 'TUNELAB_CONNECT_SRC';

/** A value of TUNELAB_CONNECT_SRC that is not a list of http(s) origins. */
export class ConnectSourceError extends Error {
  override readonly name = 'ConnectSourceError';
}

/** A URL the studio's Content-Security-Policy would block. */
export class ConnectRefusedError extends Error {
  override readonly name = 'ConnectRefusedError';
  constructor(
    readonly url: string,
    message: string,
  ) {
    super(message);
  }
}

// scheme://host[:port][/path]: a host may start with `*.` and a port may be `*`. Nothing else (no quotes,
// spaces or ';') can reach the policy text, so a value cannot add a directive.
const SOURCE = /^(https?):\/\/((?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(\d{1,5}|\*))?(?:\/[^\s;,'"]*)?$/i;

/** TUNELAB_CONNECT_SRC (origins or URLs, separated by spaces or commas) as CSP host sources: the origin
 * of each, lower case; a URL's path is dropped (CSP ignores paths after a redirect, and a mirror's files
 * live under many paths). Throws ConnectSourceError naming the first entry that is not one. */
export function parseConnectSources(text: string): string[] {
  const sources: string[] = [];
  for (const entry of text.split(/[\s,]+/).filter((e) => e !== '')) {
    const match = SOURCE.exec(entry);
    const port = match?.[3];
    if (!match || (port !== undefined && port !== '*' && Number(port) > 65535)) {
      throw new ConnectSourceError(
        `${CONNECT_SRC_VARIABLE}: "${entry}" is not an http(s) origin (expected e.g. https://mirror.example.com or ` +
          'http://127.0.0.1:8080; a host may start with *. and the port may be *)',
      );
    }
    const source = `${match[1]}://${match[2]}${port !== undefined ? `:${port}` : ''}`.toLowerCase();
    if (!sources.includes(source)) sources.push(source);
  }
  return sources;
}

const defaultPort = (scheme: string) => (scheme === 'https:' ? '443' : '80');

/** Whether a host source (as parseConnectSources writes them) matches `url`, by CSP's rules: an http
 * source also matches https on the same host; no port means the scheme's default port. */
export function sourceMatches(source: string, url: URL): boolean {
  const match = SOURCE.exec(source);
  if (!match) return false;
  const scheme = `${match[1].toLowerCase()}:`;
  if (url.protocol !== scheme && !(scheme === 'http:' && url.protocol === 'https:')) return false;
  const host = match[2].toLowerCase();
  const hostOk = host.startsWith('*.') ? url.hostname.endsWith(host.slice(1)) : url.hostname === host;
  if (!hostOk) return false;
  const urlPort = url.port || defaultPort(url.protocol);
  const port = match[3];
  if (port === '*') return true;
  if (port !== undefined) return urlPort === port;
  return urlPort === defaultPort(scheme) || (scheme === 'http:' && url.protocol === 'https:' && urlPort === '443');
}

/**
 * Why the policy blocks `url`, or null when it may be fetched. `sources` are connect-src's host sources
 * besides 'self' (null: no policy, as on the dev server); `selfOrigin` is the studio's origin.
 */
export function connectProblem(what: string, url: string, sources: readonly string[] | null, selfOrigin: string): string | null {
  if (sources === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null; // not a URL: the caller's own check names that
  }
  if (parsed.origin === selfOrigin || sources.some((s) => sourceMatches(s, parsed))) return null;
  return (
    `${what} ${url} is blocked by this build's Content-Security-Policy, which lets the studio connect only to ${describeSources(sources)}. ` +
    `Rebuild with ${CONNECT_SRC_VARIABLE}=${parsed.origin} npm run build to allow it (npm start serves the studio without this policy).`
  );
}

/** What a policy with these connect-src host sources lets the studio reach, in words. */
export function describeSources(sources: readonly string[]): string {
  const extra = sources.filter((s) => !HUB_CONNECT_SOURCES.includes(s));
  return `its own origin, huggingface.co and its download hosts${extra.length ? `, and ${extra.join(', ')}` : ''}`;
}

declare const __TUNELAB_CONNECT_SOURCES__: readonly string[] | undefined;

/** connect-src's host sources as the build wrote them; null where no policy was built in (dev server, tests). */
export function builtConnectSources(): readonly string[] | null {
  return typeof __TUNELAB_CONNECT_SOURCES__ === 'undefined' ? null : __TUNELAB_CONNECT_SOURCES__;
}

/** Why this build's policy blocks `url`, or null (always null without a built-in policy). */
export function builtConnectProblem(what: string, url: string): string | null {
  const sources = builtConnectSources();
  return sources === null ? null : connectProblem(what, url, sources, self.location.origin);
}

/** Throws ConnectRefusedError when this build's policy blocks `url`. */
export function checkConnect(what: string, url: string): void {
  const problem = builtConnectProblem(what, url);
  if (problem) throw new ConnectRefusedError(url, problem);
}
