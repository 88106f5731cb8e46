/**
 * Helpers shared by the benchmarks in this folder: command-line flags (on node:util parseArgs),
 * nearest-rank statistics and plain-text tables.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

// ---------------------------------------------------------------------------------------------
// Flags

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `argv` strictly (unknown flags and positional arguments are errors; `--flag value` and
 * `--flag=value` both work, the last of a repeated flag wins). Where `options` has a `help` flag,
 * errors end with a pointer to it.
 */
export function parseFlags<const O extends FlagOptions>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error('help' in options ? `${message} (try --help)` : message);
  }
}

/** For --help: prints the doc comment at the head of `file` (the script's __filename) and exits. */
export function printUsageAndExit(file: string): never {
  process.stdout.write((/\/\*\*[\s\S]*?\*\//.exec(readFileSync(file, 'utf8'))?.[0] ?? '') + '\n');
  process.exit(0);
}

const toInt = (value: string) => (value.trim() === '' ? NaN : Number(value));

/** A string flag as an integer >= min; undefined when the flag was not given. */
export function int(flag: string, value: string, min: number): number;
export function int(flag: string, value: string | undefined, min: number): number | undefined;
export function int(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = toInt(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${value}`);
  return n;
}

/** A string flag as a comma-separated list of integers >= min; undefined when not given. */
export function intList(flag: string, value: string | undefined, min: number): number[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map(toInt);
  if (!list.every((n) => Number.isInteger(n) && n >= min))
    throw new Error(`${flag} needs a comma-separated list of integers >= ${min}, got ${value}`);
  return list;
}

// ---------------------------------------------------------------------------------------------
// Statistics

/**
 * Nearest-rank percentile (p in 0..100) of unsorted values, NaN for none. At p = 50 with an even
 * count this is the lower of the two middle values; median() takes their mean instead.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Median of unsorted values (the mean of the two middle ones for an even count), NaN for none. */
export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `v` rounded to `d` decimals; non-finite values as they are. */
export const round = (v: number, d = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

// ---------------------------------------------------------------------------------------------
// Tables

/**
 * A text table: a header, a rule, the rows; columns two spaces apart, those before `rightFrom`
 * left-aligned, the rest (numbers) right-aligned. Widths count UTF-16 units: ASCII cells only.
 */
export function table(head: string[], rows: string[][], rightFrom = 1): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= rightFrom ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
