// `npm start`: installs dependencies when missing, then serves the studio on http://127.0.0.1:5173.
// `npm start -- --models DIR` also serves DIR's model repos (`<org>/<name>/` or `<name>/` folders holding
// config.json) as an offline Hub that the studio's Model page lists (see scripts/offline-models.ts).
// Uses only Node built-ins so it works on a fresh clone.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** Takes `--models DIR` / `--models=DIR` out of the arguments (vite does not know it). */
function takeModelsFlag(argv) {
  const rest = [];
  let models;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--models') {
      models = argv[++i];
      if (models === undefined || models.startsWith('--')) {
        console.error('--models needs a folder: npm start -- --models DIR');
        process.exit(2);
      }
    } else if (arg.startsWith('--models=')) {
      models = arg.slice('--models='.length);
    } else {
      rest.push(arg);
    }
  }
  return { models, rest };
}

const { models, rest } = takeModelsFlag(process.argv.slice(2));
const env = { ...process.env };
const modelsDir = models ?? (process.env.TUNELAB_MODELS || undefined);
if (modelsDir !== undefined) {
  const dir = resolve(modelsDir);
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
const args = ['vite', '--host', '127.0.0.1', '--port', process.env.PORT ?? '5173', ...rest];
const child = spawn('npx', args, { stdio: 'inherit', env });
child.on('exit', (code) => process.exit(code ?? 0));
