// How a failed command ends: one line `tunelab: <message>` on stderr (the stack only with --verbose) and
// a non-zero exit status: 2 for a bad command line, 1 for everything else.

import { UsageError } from './args';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

export function exitStatusOf(err: unknown): number {
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** The message on one line: multi-line messages (a GPU error, a JSON parse error) are joined. */
export function oneLineError(err: unknown): string {
  const text = messageOf(err)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  return `tunelab: ${text}`;
}

/** The stack of the error and of each `cause`, for --verbose. */
export function verboseError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) parts.push('caused by:');
  }
  return parts.join('\n');
}
