// The `tunelab` command line: picks the command, parses its flags, runs it, and turns any failure into one
// line on stderr and an exit status. bin/tunelab.mjs builds this file with Vite and calls runCli.

import { UsageError } from './args';
import { runGenerate } from './commands/generate';
import { runInfo } from './commands/info';
import { runLogits } from './commands/logits';
import { runEval } from './commands/eval';
import { runEvalSuites } from './commands/eval-suites';
import { runJudge } from './commands/judge';
import { runTrain } from './commands/train';
import { runTune } from './commands/tune';
import { runExport } from './commands/export';
import { EXPORT_HELP, parseExportArgs } from './options/export';
import { EXIT_OK, exitStatusOf, oneLineError, verboseError } from './errors';
import { GENERATE_HELP, parseGenerateArgs } from './options/generate';
import { INFO_HELP, parseInfoArgs } from './options/info';
import { LOGITS_HELP, parseLogitsArgs } from './options/logits';
import { EVAL_HELP, parseEvalArgs } from './options/eval';
import { isSuiteMode, parseEvalSuiteArgs } from './options/eval-suites';
import { JUDGE_HELP, parseJudgeArgs } from './options/judge';
import { parseTrainArgs, TRAIN_HELP } from './options/train';
import { parseTuneArgs, TUNE_HELP } from './options/tune';
import type { CliStreams } from './streams';

interface Command {
  summary: string;
  help: string;
  /** Resolves with the exit status (undefined: 0). */
  run(argv: readonly string[], io: CliStreams): Promise<number | void>;
}

const COMMANDS: Record<string, Command> = {
  info: {
    summary: 'the WebGPU adapter: vendor, architecture, software or not, features, limits',
    help: INFO_HELP,
    run: (argv, io) => runInfo(parseInfoArgs(argv), io),
  },
  tune: {
    summary: 'time the matmul kernels on this adapter and store the fastest per shape class (done once by itself)',
    help: TUNE_HELP,
    run: (argv, io) => runTune(parseTuneArgs(argv), io),
  },
  generate: {
    summary: 'generate text from a model (the text on stdout, progress on stderr)',
    help: GENERATE_HELP,
    run: (argv, io) => runGenerate(parseGenerateArgs(argv), io),
  },
  logits: {
    summary: "write one sequence's logits at every position to a .safetensors file",
    help: LOGITS_HELP,
    run: (argv, io) => runLogits(parseLogitsArgs(argv), io),
  },
  train: {
    summary: 'fine-tune a LoRA adapter (SFT); writes a PEFT adapter, metrics.jsonl and checkpoints',
    help: TRAIN_HELP,
    run: (argv, io) => runTrain(parseTrainArgs(argv), io),
  },
  eval: {
    summary: 'evaluation suites (ARC, HellaSwag, BoolQ, GSM8K, HumanEval-JS, files) before and after adapters; held-out loss (JSON)',
    help: EVAL_HELP,
    run: (argv, io) => (isSuiteMode(argv) ? runEvalSuites(parseEvalSuiteArgs(argv), io) : runEval(parseEvalArgs(argv), io)),
  },
  export: {
    summary: 'the model with an adapter merged, as a Hugging Face folder or ONNX; or a run as a TRL project',
    help: EXPORT_HELP,
    run: (argv, io) => runExport(parseExportArgs(argv), io),
  },
  judge: {
    summary: 'LLM-as-a-judge (MT-Bench): grade answers 1-10, or --pairwise adapter against base in both orders (JSON)',
    help: JUDGE_HELP,
    run: (argv, io) => runJudge(parseJudgeArgs(argv), io),
  },
};

export const USAGE = `usage: tunelab <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`)
  .join('\n')}

Run "tunelab <command> --help" for its options. Models are a local folder or a Hugging Face Hub id.
Exit status: 0 done, 1 failed (one line on stderr; --verbose adds the stack), 2 bad command line.
`;

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

/** Runs one command line; returns the exit status. Never throws. */
export async function main(argv: readonly string[], io: CliStreams): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    const [name, ...rest] = argv;
    if (name === undefined || isHelp(name) || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      io.stdout.write(topic && COMMANDS[topic] ? COMMANDS[topic].help : USAGE);
      return EXIT_OK;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) {
      throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see tunelab --help)`);
    }
    if (rest.some(isHelp)) {
      io.stdout.write(command.help);
      return EXIT_OK;
    }
    return (await command.run(rest, io)) ?? EXIT_OK;
  } catch (err) {
    io.stderr.write(`${oneLineError(err)}\n`);
    if (verbose) io.stderr.write(`${verboseError(err)}\n`);
    return exitStatusOf(err);
  }
}

/** Waits until what was written to a stream has been handed to the system. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/** The process entry: runs main on the real streams and exits with its status. */
export async function runCli(argv: readonly string[]): Promise<never> {
  // A closed stdout (`tunelab generate ... | head -c 100`) ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
  const status = await main(argv, { stdout: process.stdout, stderr: process.stderr });
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  // dawn.node's instance keeps the event loop alive after the device is destroyed: exit explicitly.
  process.exit(status);
}
