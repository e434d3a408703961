// The arguments of `npm start`: takes out Tunelab's own flags (vite does not know them) and refuses a
// `--host` that would put the studio's server, and with it the offline model folder, on the network
// unless --expose-models-to-network says so. Plain JavaScript with no imports: start.mjs runs on a fresh
// clone before anything is installed.

export const EXPOSE_FLAG = '--expose-models-to-network';

/** Host values that keep the server on this machine. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * @param {readonly string[]} argv what follows `npm start --`
 * @param {Readonly<Record<string, string | undefined>>} env the environment (TUNELAB_MODELS)
 * @returns {{ ok: true, modelsDir: string | undefined, viteArgs: string[] } | { ok: false, message: string }}
 */
export function parseStartArgs(argv, env) {
  const viteArgs = [];
  let models;
  let expose = false;
  /** The non-loopback host asked for (true: `--host` alone, every interface), if any. */
  let networkHost;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--models') {
      models = argv[++i];
      if (models === undefined || models.startsWith('--')) return { ok: false, message: '--models needs a folder: npm start -- --models DIR' };
      continue;
    }
    if (arg.startsWith('--models=')) {
      models = arg.slice('--models='.length);
      continue;
    }
    if (arg === EXPOSE_FLAG) {
      expose = true;
      continue;
    }
    viteArgs.push(arg);
    if (arg === '--host') {
      const value = argv[i + 1];
      if (value !== undefined && !value.startsWith('-')) {
        viteArgs.push(value);
        i++;
        if (!LOOPBACK.has(value)) networkHost = value;
      } else {
        networkHost = true;
      }
    } else if (arg.startsWith('--host=')) {
      const value = arg.slice('--host='.length);
      if (!LOOPBACK.has(value)) networkHost = value || true;
    }
  }
  const modelsDir = models ?? (env.TUNELAB_MODELS || undefined);
  if (networkHost !== undefined && !expose) {
    const where = networkHost === true ? 'every network interface' : networkHost;
    const folder = modelsDir !== undefined ? `the offline model folder ${modelsDir}` : 'the offline model folder whenever one is set (--models or TUNELAB_MODELS)';
    return {
      ok: false,
      message:
        `Refusing --host ${networkHost === true ? '' : `${networkHost} `}without ${EXPOSE_FLAG}: it serves the studio on ${where}, so anyone who can reach this ` +
        `machine could download every file of ${folder}. Add ${EXPOSE_FLAG} if that is what you want, or leave out --host to stay on 127.0.0.1.`,
    };
  }
  return { ok: true, modelsDir, viteArgs };
}
