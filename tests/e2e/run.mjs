// `npm run test:e2e`: the e2e vitest project (build, serve on 127.0.0.1, drive /usr/bin/chromium).
// Extra arguments pass through to vitest, e.g. `npm run test:e2e -- tests/e2e/no-webgpu.test.ts`.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const { status, error } = spawnSync(process.execPath, [vitest, 'run', '--project', 'e2e', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
if (error) throw error;
process.exit(status ?? 1);
