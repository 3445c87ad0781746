// Option parsers and helpers shared by the commands (commander reports a parser's InvalidArgumentError as
// "option '--x <n>' argument 'v' is invalid. expected ...", with a non-zero exit).
import { InvalidArgumentError, type Command } from 'commander';
import { DataError } from '../data/types.js';
import { SAMPLER_NAMES, samplerSettings, type SamplerName, type SamplerSettings } from '../diffusion/samplers/registry.js';
import { GRID_KINDS, type GridKind } from '../diffusion/samplers/grids.js';
import type { SourceSelection } from '../data/select-source.js';

/** An integer option in [min, max]. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}` : `expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}
export const positiveInt = intOption(1);

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** The command line as typed, for history attributes (arguments with spaces quoted). */
export function commandLine(cmd: Command): string {
  let root: Command = cmd;
  while (root.parent !== null) root = root.parent;
  const args = (root as Command & { rawArgs?: string[] }).rawArgs?.slice(2) ?? process.argv.slice(2);
  return ['climadiff', ...args].map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** The sampler flags every generating command takes (sample and the tasks). */
export interface SamplerFlags {
  sampler: string; steps: number; grid?: string; rho?: number; logsnrRange?: number[];
  churn?: number; churnRange?: number[]; churnNoise?: number;
}

function numberPair(what: string) {
  return (v: string): number[] => {
    const p = v.split(',').map((x) => Number(x.trim()));
    if (p.length !== 2 || !p.every(Number.isFinite) || !(p[0]! < p[1]!)) throw new InvalidArgumentError(`expected ${what}: two numbers, the first smaller`);
    return p;
  };
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number >= 0');
  return n;
}

/** Adds --sampler, --steps, --grid, --rho, --logsnr-range and the churn flags, with the command's defaults. */
export function addSamplerOptions(cmd: Command, defaults: { sampler: string; steps: number }): Command {
  return cmd
    .option('--sampler <name>', `one of ${SAMPLER_NAMES.join(', ')}`, defaults.sampler)
    .option('--steps <n>', 'solver steps (network evaluations: one per step; two for ode and edm, less one)', positiveInt, defaults.steps)
    .option('--grid <kind>', `noise-level grid: ${GRID_KINDS.join(' | ')} (default: uniform-t for the seed's samplers, karras for dpm++* and edm)`)
    .option('--rho <r>', 'rho of the karras grid (default 7)', positiveNumber)
    .option('--logsnr-range <min,max>', 'truncate the grid to these logSNR levels (default: the schedule for uniform-t, EDM\'s sigma 80..0.002 otherwise)', numberPair('min,max'))
    .option('--churn <s>', 'edm: S_churn (default 2.5)', nonNegative)
    .option('--churn-range <min,max>', 'edm: churn while sigma is in [S_tmin, S_tmax] (default 0.75,80)', numberPair('S_tmin,S_tmax'))
    .option('--churn-noise <s>', 'edm: S_noise (default 1.05)', nonNegative);
}

/** The sampler, steps and settings of the flags, checked (an unknown sampler or a setting that does not apply is an error). */
export function samplerFromFlags(o: SamplerFlags): { sampler: SamplerName; steps: number; sampling: SamplerSettings } {
  if (!SAMPLER_NAMES.includes(o.sampler as SamplerName)) throw new DataError('bad-option', `--sampler must be one of ${SAMPLER_NAMES.join(', ')}, got '${o.sampler}'`);
  const sampling: SamplerSettings = {
    ...(o.grid !== undefined ? { grid: o.grid as GridKind } : {}), ...(o.rho !== undefined ? { rho: o.rho } : {}),
    ...(o.logsnrRange ? { logsnrMin: o.logsnrRange[0]!, logsnrMax: o.logsnrRange[1]! } : {}),
    ...(o.churn !== undefined ? { churn: o.churn } : {}), ...(o.churnRange ? { churnMin: o.churnRange[0]!, churnMax: o.churnRange[1]! } : {}),
    ...(o.churnNoise !== undefined ? { churnNoise: o.churnNoise } : {}),
  };
  try { samplerSettings(o.sampler as SamplerName, sampling); } catch (e) { throw new DataError('bad-option', (e as Error).message); }
  return { sampler: o.sampler as SamplerName, steps: o.steps, sampling };
}

/** The selection flags of the commands that read data files (train, score). */
export interface SelectionFlags {
  box?: number[]; level?: number; coarsen?: number; time?: [string | null, string | null]; months?: number[]; every?: number;
}

function boxOption(v: string): number[] {
  const p = v.split(',').map((x) => Number(x.trim()));
  if (p.length !== 4 || !p.every(Number.isFinite)) throw new InvalidArgumentError('expected lat0,lat1,lon0,lon1 (degrees)');
  return p;
}

function timeOption(v: string): [string | null, string | null] {
  const p = v.split(',').map((x) => x.trim());
  if (p.length !== 2 || (!p[0] && !p[1])) throw new InvalidArgumentError('expected FROM,TO (dates; one may be empty)');
  return [p[0] || null, p[1] || null];
}

function monthsOption(v: string): number[] {
  const p = v.split(',').map((x) => Number(x.trim()));
  if (p.length === 0 || !p.every((m) => Number.isInteger(m) && m >= 1 && m <= 12)) throw new InvalidArgumentError('expected months 1-12, e.g. 12,1,2');
  return p;
}

/** --box, --level, --coarsen, --time, --months, --every (data/select-source.ts); `what` says what the selection is of. */
export function addSelectionOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--box <lat0,lat1,lon0,lon1>', `${what}: a lat/lon box (degrees; lon0 > lon1 goes east across the date line)`, boxOption)
    .option('--level <value>', 'one vertical level by its coordinate value, in the file\'s units (e.g. 500 for 500 hPa)', Number)
    .option('--coarsen <k>', 'area-weighted (cos latitude) k x k block means; trailing partial blocks dropped', positiveInt)
    .option('--time <from,to>', 'inclusive dates, e.g. 1990,2009 or 1990-03-01,2009-11-30 (either may be empty)', timeOption)
    .option('--months <list>', 'keep these months, e.g. 12,1,2 (winters); clips never span the jump between seasons', monthsOption)
    .option('--every <n>', 'keep every n-th time step (after --time and --months)', positiveInt);
}

/** The selection the flags give (empty when none was given). */
export function selectionFromFlags(o: SelectionFlags): SourceSelection {
  if (o.level !== undefined && !Number.isFinite(o.level)) throw new DataError('bad-option', '--level must be a number (the level\'s coordinate value)');
  return {
    ...(o.box ? { lat: [o.box[0]!, o.box[1]!] as [number, number], lon: [o.box[2]!, o.box[3]!] as [number, number] } : {}),
    ...(o.level !== undefined ? { level: o.level } : {}), ...(o.coarsen ? { coarsen: o.coarsen } : {}), ...(o.time ? { time: o.time } : {}),
    ...(o.months ? { months: o.months } : {}), ...(o.every ? { every: o.every } : {}),
  };
}

/** Exit status of a command that stopped early on request (a signal, a deadline) and can be resumed. */
export const EXIT_STOPPED = 75;

/** Thrown by a command that stopped early and can be resumed: main() prints the message and exits with EXIT_STOPPED. */
export class ResumableStop extends Error {
  override name = 'ResumableStop';
}

export const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };

/**
 * Graceful stops: the first of these signals aborts `signal` (the command finishes what it is doing, saves, and
 * stops); a second one ends the process at once with 128 + the signal's number. `dispose` removes the handlers.
 */
export function gracefulStop(signals: NodeJS.Signals[], what: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${sig} again: stopping now (the last checkpoint stays valid)\n`);
      process.exit(128 + (SIGNAL_NUMBERS[sig] ?? 0));
    }
    process.stderr.write(`\n${sig}: ${what} (${sig} again stops at once)\n`);
    controller.abort(sig);
  };
  for (const s of signals) process.on(s, handler);
  return { signal: controller.signal, dispose: () => { for (const s of signals) process.off(s, handler); } };
}

/** --until HH:MM: the next time the local clock shows it (today or tomorrow), in ms since the epoch. */
export function untilOption(v: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(v.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new InvalidArgumentError('expected HH:MM (local time, 24 h)');
  const now = new Date();
  const at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), Number(m[1]), Number(m[2]), 0, 0);
  if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
  return at.getTime();
}

/** --time-limit MINUTES or SLURM's [D-]HH:MM[:SS]: the time from now, in ms. */
export function timeLimitOption(v: string): number {
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 60_000;
  const m = /^(?:(\d+)-)?(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (!m) throw new InvalidArgumentError('expected minutes, or [D-]HH:MM[:SS] as SLURM writes it');
  return (((Number(m[1] ?? 0) * 24 + Number(m[2])) * 60 + Number(m[3])) * 60 + Number(m[4] ?? 0)) * 1000;
}

/** A data-parallel launch whose workers failed: the process exits with the failing worker's code. */
export class WorkersFailed extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'WorkersFailed';
  }
}
