// Types of start-args.mjs (plain JavaScript, so that `npm start` runs before anything is installed).

export declare const EXPOSE_FLAG: '--expose-models-to-network';

export declare function parseStartArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; modelsDir: string | undefined; viteArgs: string[] } | { ok: false; message: string };
