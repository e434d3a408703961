// Command-line flags: `--name value` or `--name=value`, boolean switches, repeatable flags, and typed
// readers whose errors name the flag and the value. No positional arguments: every input is a named flag.

/** A mistake in the command line itself: one line, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface FlagSpec {
  /** Without the leading dashes: "max-new-tokens". */
  name: string;
  /** Placeholder shown in help ("N", "TEXT"); a flag without one is a boolean switch. */
  value?: string;
  /** May be given more than once (each value is kept, in order). */
  repeatable?: boolean;
  help: string;
}

export interface ParsedFlags {
  /** The command the flags belong to, for messages ("generate"). */
  command: string;
  values: Map<string, string[]>;
  switches: Set<string>;
}

/** Splits argv into flag values; unknown flags, missing values and stray words are UsageErrors. */
export function parseFlags(command: string, argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const parsed: ParsedFlags = { command, values: new Map(), switches: new Set() };
  const seeHelp = `see tunelab ${command} --help`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      throw new UsageError(`unexpected argument "${arg}" (every input is a named flag; ${seeHelp})`);
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name} for "tunelab ${command}" (${seeHelp})`);
    if (!spec.value) {
      if (eq >= 0) throw new UsageError(`--${name} is a switch and takes no value (got "${arg}")`);
      parsed.switches.add(name);
      continue;
    }
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      // A following flag means the value was forgotten; a value that starts with "--" can use --name=value.
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value (${spec.value})`);
      value = next;
      i++;
    }
    const list = parsed.values.get(name) ?? [];
    if (list.length > 0 && !spec.repeatable) throw new UsageError(`--${name} is given more than once`);
    list.push(value);
    parsed.values.set(name, list);
  }
  return parsed;
}

export function hasSwitch(flags: ParsedFlags, name: string): boolean {
  return flags.switches.has(name);
}

export function stringFlag(flags: ParsedFlags, name: string): string | undefined {
  return flags.values.get(name)?.[0];
}

export function stringList(flags: ParsedFlags, name: string): string[] {
  return flags.values.get(name) ?? [];
}

export function requiredString(flags: ParsedFlags, name: string, example: string): string {
  const value = stringFlag(flags, name);
  if (value === undefined || value === '') {
    throw new UsageError(`tunelab ${flags.command} needs --${name} (e.g. --${name} ${example})`);
  }
  return value;
}

export function choiceFlag<T extends string>(flags: ParsedFlags, name: string, choices: readonly T[]): T | undefined {
  const value = stringFlag(flags, name);
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${value}"`);
  }
  return value as T;
}

/** An inclusive or exclusive bound: `{ value: 0, exclusive: true }` means "> 0". */
export interface Bound {
  value: number;
  exclusive?: boolean;
}

export interface NumberRange {
  min?: Bound;
  max?: Bound;
}

function rangeText(range: NumberRange): string {
  const { min, max } = range;
  if (min && max) return `in ${min.exclusive ? '(' : '['}${min.value}, ${max.value}${max.exclusive ? ')' : ']'}`;
  if (min) return `${min.exclusive ? '>' : '>='} ${min.value}`;
  if (max) return `${max.exclusive ? '<' : '<='} ${max.value}`;
  return '';
}

function inRange(x: number, { min, max }: NumberRange): boolean {
  if (min && (min.exclusive ? x <= min.value : x < min.value)) return false;
  if (max && (max.exclusive ? x >= max.value : x > max.value)) return false;
  return true;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const INTEGER = /^[+-]?\d+$/;

/** Parses one number; `what` is "a number" or "an integer". */
function parseNumber(name: string, text: string, integer: boolean, range: NumberRange): number {
  const kind = integer ? 'an integer' : 'a number';
  const wanted = [kind, rangeText(range)].filter(Boolean).join(' ');
  const value = Number(text);
  if (!(integer ? INTEGER : DECIMAL).test(text.trim()) || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) {
    throw new UsageError(`--${name} must be ${wanted}, got "${text}"`);
  }
  if (!inRange(value, range)) throw new UsageError(`--${name} must be ${wanted}, got ${text}`);
  return value;
}

export function numberFlag(flags: ParsedFlags, name: string, range: NumberRange = {}): number | undefined {
  const text = stringFlag(flags, name);
  return text === undefined ? undefined : parseNumber(name, text, false, range);
}

export function integerFlag(flags: ParsedFlags, name: string, range: NumberRange = {}): number | undefined {
  const text = stringFlag(flags, name);
  return text === undefined ? undefined : parseNumber(name, text, true, range);
}

/** A comma-separated list of integers ("1,2,3"); at least one. */
export function integerListFlag(flags: ParsedFlags, name: string, range: NumberRange = {}): number[] | undefined {
  const text = stringFlag(flags, name);
  if (text === undefined) return undefined;
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new UsageError(`--${name} must be a comma-separated list of integers like 1,2,3, got "${text}"`);
  }
  return parts.map((p) => parseNumber(name, p, true, range));
}

/** Help text: usage line, description, then one aligned line per flag. */
export function formatHelp(usage: string, description: string, specs: readonly FlagSpec[]): string {
  const left = specs.map((s) => `--${s.name}${s.value ? ` ${s.value}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = specs.map((s, i) => `  ${left[i].padEnd(width)}${s.help}`);
  return `usage: ${usage}\n\n${description}\n\noptions:\n${lines.join('\n')}\n`;
}
