// The script that runs one custom JavaScript reward under `node` for the exported rewards.py (NodeReward):
// the reward's source bound to `reward` exactly as Tunelab's sandbox binds it (bindScoringFunction, a
// sloppy-mode script), then a loop that reads one JSON request a line on stdin ({"completion", "example"})
// and writes one reply a line on stdout: {"score": n}, or {"error": "Name: message"} with the checks and
// wording of the sandbox's program (rewardBatchProgram in src/engine/train/grpo/rewards/sandboxed-reward.ts):
// a Promise, a non-number or a non-finite number is an error. console output goes to stderr so it cannot
// corrupt the replies. The first line says {"ready": true}, or {"fatal": why} when the source is not a
// function. Written as .cjs: a package.json with "type": "module" above the folder would make a .js file an
// ES module (strict, no require), unlike the sandbox.

import { bindScoringFunction, scoreCheckLines, scoringFunctionCheckLines } from '../../eval/custom-metric';
import { REWARD_ROLE } from '../../train/grpo/rewards/sandboxed-reward';

/** rewards/<file>.cjs for the reward `name` whose JavaScript expression is `source`. */
export function nodeRewardScript(name: string, source: string): string {
  const checks = scoringFunctionCheckLines(REWARD_ROLE).join('\n    ');
  const scoreChecks = scoreCheckLines(REWARD_ROLE, 'score').join('\n        ');
  return [
    `// Tunelab GRPO reward ${JSON.stringify(name)}, run by rewards.py with node: one JSON request a line on stdin,`,
    '// one JSON reply a line on stdout. The reward itself is the code between the markers, as written in Tunelab.',
    'const __reply = (value) => process.stdout.write(JSON.stringify(value) + "\\n");',
    'for (const level of ["log", "info", "debug", "warn"]) console[level] = (...args) => console.error(...args);',
    '// ---- the reward ----',
    bindScoringFunction(REWARD_ROLE.binding, source),
    '// ---- end of the reward ----',
    '(function serve() {',
    '  try {',
    `    ${checks}`,
    '  } catch (error) {',
    '    __reply({ fatal: String(error && error.message ? error.message : error) });',
    '    process.exit(1);',
    '  }',
    '  __reply({ ready: true });',
    '  const lines = require("node:readline").createInterface({ input: process.stdin });',
    '  lines.on("line", (line) => {',
    '    if (line.trim() === "") return;',
    '    const call = JSON.parse(line);',
    '    try {',
    `      const score = ${REWARD_ROLE.binding}(call.completion, call.example);`,
    `        ${scoreChecks}`,
    '      __reply({ score });',
    '    } catch (error) {',
    '      let message;',
    "      try { message = error !== null && typeof error === 'object' && typeof error.message === 'string' ? String(error.name || 'Error') + ': ' + error.message : 'Uncaught ' + String(error); }",
    "      catch { message = 'Uncaught exception (it could not be described)'; }",
    "      __reply({ error: message.length > 2000 ? message.slice(0, 2000) + '...' : message });",
    '    }',
    '  });',
    '})();',
    '',
  ].join('\n');
}
