// `npm start`: installs dependencies when missing, then serves the studio on http://127.0.0.1:5173.
// `npm start -- --models DIR` also serves DIR's model repos (`<org>/<name>/` or `<name>/` folders holding
// config.json) as an offline Hub that the studio's Model page lists (see scripts/offline-models.ts).
// `--host` (reachable from other machines) is refused unless --expose-models-to-network is given too
// (start-args.mjs). Uses only Node built-ins so it works on a fresh clone.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseStartArgs } from './start-args.mjs';

const parsed = parseStartArgs(process.argv.slice(2), process.env);
if (!parsed.ok) {
  console.error(parsed.message);
  process.exit(2);
}
const env = { ...process.env };
if (parsed.modelsDir !== undefined) {
  const dir = resolve(parsed.modelsDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    console.error(`Offline model folder ${dir} does not exist or is not a folder.`);
    process.exit(2);
  }
  env.TUNELAB_MODELS = dir;
  // The server prints the folder again with the models it found once it is up.
  console.log(`Offline model folder: ${dir}`);
}

const needsInstall =
  !existsSync('node_modules/.package-lock.json') ||
  statSync('package-lock.json').mtimeMs > statSync('node_modules/.package-lock.json').mtimeMs;
if (needsInstall) {
  console.log('Installing dependencies (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const args = ['vite', '--host', '127.0.0.1', '--port', process.env.PORT ?? '5173', ...parsed.viteArgs];
const child = spawn('npx', args, { stdio: 'inherit', env });
child.on('exit', (code) => process.exit(code ?? 0));
