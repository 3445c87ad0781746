// `climadiff forecast | interpolate | infill | downscale`: conditional generation from one unconditional model
// (docs/tasks.md), ensembles written with a member dimension, resumable.
import { InvalidArgumentError, type Command } from 'commander';
import * as torch from '@climadiff/torch';
import { DataError } from '../data/types.js';
import { resolvePrecision } from '../models/precision.js';
import { GUIDANCE_METHODS, type GuidanceMethod, type StartSpec, type InfillMask } from '../tasks/index.js';
import { DEFAULT_SAMPLING } from '../diffusion/samplers/registry.js';
import { runTask, type TaskName, type TaskRunOptions } from '../run/task-run.js';
import { countBar, type CountBar } from '../train/progress.js';
import { positiveInt, positiveNumber, intOption, commandLine, addSamplerOptions, samplerFromFlags, gracefulStop, ResumableStop, WorkersFailed, type SamplerFlags } from './options.js';
import { addLaunchOptions, joinGroup, launchIfAsked, type LaunchFlags } from './launch.js';
import { EnsembleStopped } from '../tasks/ensemble.js';

/** --starts 'every:5d[:test|validation|train|all]' or a comma-separated list of dates. */
export function startsOption(v: string): StartSpec {
  const m = /^every:(\d+(?:\.\d+)?)d(?::(test|validation|train|all))?$/.exec(v.trim());
  if (m) return { everyDays: Number(m[1]), split: (m[2] ?? 'test') as 'test' };
  if (v.startsWith('every')) throw new InvalidArgumentError("expected 'every:Nd[:test|validation|train|all]' or dates 'YYYY-MM-DD[ hh:mm],...'");
  const dates = v.split(',').map((d) => d.trim()).filter(Boolean);
  if (dates.length === 0) throw new InvalidArgumentError('expected at least one date');
  return { dates };
}

function numberList(n: number, what: string) {
  return (v: string): number[] => {
    const xs = v.split(',').map((x) => Number(x.trim()));
    if (xs.length !== n || xs.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`expected ${n} comma-separated numbers (${what})`);
    return xs;
  };
}

/** --obs-error tas=0.5,pr=0.1 (standard deviations, physical units) -> variances. */
function obsErrorOption(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([^=]+)=(.+)$/.exec(part);
    const sd = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(sd) || sd < 0) throw new InvalidArgumentError(`expected VAR=STD[,VAR=STD...] with STD >= 0, got '${part}'`);
    out[m[1]!.trim()] = sd * sd;
  }
  return out;
}

function guidanceOption(v: string): GuidanceMethod {
  if (!GUIDANCE_METHODS.includes(v as GuidanceMethod)) throw new InvalidArgumentError(`expected one of ${GUIDANCE_METHODS.join(', ')}`);
  return v as GuidanceMethod;
}

interface CommonFlags extends SamplerFlags, LaunchFlags {
  checkpoint: string; data?: string; out: string; gif?: string | false; starts: StartSpec; maxCases?: number; members: number;
  guidance?: GuidanceMethod; weight?: number; seed: number; batch: number; precision?: string; device: string;
}

function addCommon(cmd: Command, defaults: { guidance: GuidanceMethod; weight: string }): Command {
  addSamplerOptions(cmd, DEFAULT_SAMPLING)
    .requiredOption('--checkpoint <dir>', 'run folder (RUN/best: its checkpoint with the lowest validation loss), exported model folder, or builtin:NAME (e.g. builtin:earth)')
    .requiredOption('--out <path>', 'output: .nc (NetCDF-3), .nc4 (NetCDF-4, compressed) or .zarr; must not exist')
    .option('--data <files>', "NetCDF/Zarr data with the model's variables: a file, a list, a quoted glob or a directory, joined along time (default: the model's own data, recreated from its recipe)")
    .option('--starts <spec>', "cases: 'every:Nd[:test|validation|train|all]' (every N days through a split of the model's run) or dates 'YYYY-MM-DD[ hh:mm],...'", startsOption, { everyDays: 5, split: 'test' })
    .option('--max-cases <n>', 'at most this many cases (the first ones)', positiveInt)
    .option('--members <m>', 'ensemble members per case', positiveInt, 8)
    .option('--guidance <method>', `${GUIDANCE_METHODS.join(' | ')} (default ${defaults.guidance})`, guidanceOption)
    .option('--weight <w>', `guidance weight w_r on each example's sum of squared errors (default ${defaults.weight}; the seed's w on a mean over N elements is w_sum = w_mean / N)`, (v) => {
      const w = Number(v); if (!Number.isFinite(w) || w < 0) throw new InvalidArgumentError('expected a number >= 0'); return w;
    })
    .option('--seed <s>', 'random seed', intOption(0), 0)
    .option('--batch <n>', 'examples (members x cases) per network batch', positiveInt, 16)
    .option('--gif <file>', 'GIF of truth / ensemble mean / members of the first case (default: OUT with .gif)')
    .option('--no-gif', 'no GIF')
    .option('--threads <n>', 'intra-op threads (default: all cores)', positiveInt)
    .option('--precision <p>', 'fp32 | bf16-mixed | fp16-mixed (CUDA) | auto')
    .option('--device <d>', 'cpu, cuda or cuda:N', 'cpu');
  // the cases shared among worker processes; OUT.partial must be on a file system they all see
  return addLaunchOptions(cmd, 'share the cases among worker processes (the ensemble is the one a single process makes)');
}

async function run(task: TaskName, o: CommonFlags, cmd: Command, extra: Partial<TaskRunOptions>, defaults: { guidance: GuidanceMethod; weight: number }): Promise<void> {
  const code = await launchIfAsked(o);
  if (code !== null) {
    if (code === 75) throw new ResumableStop(`${task}: the workers stopped, keeping every finished case in ${o.out}.partial: run the same command to continue`);
    if (code !== 0) throw new WorkersFailed(`${task} failed (a worker exited with code ${code}); finished cases stay in ${o.out}.partial: run the same command to continue`, code);
    return;
  }
  if (o.threads) torch.setNumThreads(o.threads);
  const { group, device, dispose: leaveGroup } = joinGroup(o);
  const main = (group?.rank ?? 0) === 0;
  const { sampler, steps, sampling } = samplerFromFlags(o);
  let precision;
  try { precision = resolvePrecision(o.precision, o.device); } catch (e) { throw new DataError('bad-option', `--precision: ${(e as Error).message}`); }
  const guidance = { method: o.guidance ?? defaults.guidance, weight: o.weight ?? defaults.weight };
  const bar: { b: CountBar | null } = { b: null };
  const stop = gracefulStop(['SIGINT', 'SIGTERM', 'SIGUSR1'], 'finishing the cases in progress, keeping every finished case');
  let r;
  try {
    r = await runTask({
      signal: stop.signal,
      task, checkpoint: o.checkpoint, ...(o.data ? { data: o.data } : {}), out: o.out, gif: o.gif === false ? null : o.gif, starts: o.starts,
      ...(o.maxCases ? { maxCases: o.maxCases } : {}), members: o.members, steps, sampler, sampling,
      guidance, seed: o.seed, batch: o.batch, precision, device: device ?? o.device, history: commandLine(cmd), ...extra,
      log: (m) => { if (main) process.stderr.write(`${m}\n`); }, ...(group ? { group } : {}),
      onProgress: (done, total) => { if (!main) return; bar.b ??= countBar(task, total); bar.b.update(Math.round(done)); },
    });
  } catch (e) {
    if (!(e instanceof EnsembleStopped)) throw e;
    throw new ResumableStop(`${task} ${e.message}, kept in ${o.out}.partial: run the same command to continue`);
  } finally {
    stop.dispose();
    bar.b?.stop();
  }
  leaveGroup();
  if (!r.main) return;
  const [M, N, , F] = r.ensemble.shape;
  const e = r.ensemble;
  const generated = M * (N - r.resumed) * F;
  process.stdout.write(`${task}: ${N} case(s) x ${M} member(s) x ${F} frame(s)${r.resumed ? ` (${r.resumed} case(s) resumed)` : ''}\n`);
  if (e.seconds > 0) {
    process.stdout.write(`  ${(generated / e.seconds).toFixed(2)} member-frames/s; ${e.nfe.forward} network evaluations (${e.nfe.backward} with a backward pass for guidance) in ${e.seconds.toFixed(1)} s\n`);
  }
  for (const mm of r.mismatch ?? []) process.stdout.write(`  ${mm.variable}: block-mean mismatch ${mm.rms.toPrecision(3)} RMS (${(100 * mm.relative).toFixed(1)}% of the input's spatial std)\n`);
  for (const c of e.clamped) if (c.below + c.above > 0) process.stdout.write(`  ${c.variable}: ${c.below} value(s) below and ${c.above} above the transform's range clamped (of ${c.total})\n`);
  process.stdout.write(r.files.map((f) => `  ${f}\n`).join(''));
}

export function register(program: Command): void {
  addCommon(program.command('forecast')
    .description('ensemble forecasts: k known frames, then the following ones (any lead by autoregressive rollout)'), { guidance: 'reconstruction+replacement', weight: '2' })
    .option('--known <k>', 'known frames before each start (default 4, fewer than the model\'s clip length)', positiveInt)
    .option('--leads <n>', 'frames to forecast (default: the rest of one clip)', positiveInt)
    .action((o: CommonFlags & { known?: number; leads?: number }, cmd: Command) => run('forecast', o, cmd,
      { forecast: { ...(o.known ? { known: o.known } : {}), ...(o.leads ? { leads: o.leads } : {}) } }, { guidance: 'reconstruction+replacement', weight: 2 }));

  addCommon(program.command('interpolate')
    .description('temporal interpolation: every n-th frame known, the frames between generated'), { guidance: 'reconstruction+replacement', weight: '2' })
    .option('--every <n>', 'every n-th frame of each clip is known (default 2: frames 0, 2, 4, ...)', intOption(2))
    .option('--known-frames <list>', 'or the known frames of each clip, e.g. 0,3,7', (v) => v.split(',').map((x) => Number(x.trim())))
    .action((o: CommonFlags & { every?: number; knownFrames?: number[] }, cmd: Command) => run('interpolate', o, cmd,
      { interpolate: { ...(o.every ? { every: o.every } : {}), ...(o.knownFrames ? { knownFrames: o.knownFrames } : {}) } }, { guidance: 'reconstruction+replacement', weight: 2 }));

  addCommon(program.command('infill')
    .description('fill missing cells: a lat/lon box, all but a fraction of "station" cells, or the file\'s own missing values'), { guidance: 'reconstruction+replacement', weight: '2' })
    .option('--box <lat0,lat1,lon0,lon1>', 'hide a box (degrees; lon0 > lon1 crosses the date line)', numberList(4, 'lat0,lat1,lon0,lon1'))
    .option('--stations <fraction>', 'keep this fraction of cells (random, the same in every frame) and generate the rest', positiveNumber)
    .option('--station-seed <s>', 'seed of the station draw', intOption(0), 0)
    .option('--missing', "generate the file's own missing values")
    .option('--obs-error <list>', 'observation-error standard deviations, e.g. tas=0.5 (physical units; with reconstruction guidance alone)', obsErrorOption)
    .action((o: CommonFlags & { box?: number[]; stations?: number; stationSeed: number; missing?: boolean; obsError?: Record<string, number> }, cmd: Command) => {
      const given = [o.box !== undefined, o.stations !== undefined, o.missing === true].filter(Boolean).length;
      if (given !== 1) throw new DataError('bad-option', 'infill needs exactly one of --box, --stations, --missing');
      const mask: InfillMask = o.box ? { kind: 'box', lat: [o.box[0]!, o.box[1]!], lon: [o.box[2]!, o.box[3]!] }
        : o.stations !== undefined ? { kind: 'stations', fraction: o.stations, seed: o.stationSeed } : { kind: 'missing' };
      if (o.obsError && (o.guidance ?? 'reconstruction+replacement') !== 'reconstruction') {
        throw new DataError('bad-option', '--obs-error needs --guidance reconstruction (replacement imposes the observations exactly)');
      }
      return run('infill', o, cmd, { infill: { mask, ...(o.obsError ? { errorVariance: o.obsError } : {}) } }, { guidance: 'reconstruction+replacement', weight: 2 });
    });

  addCommon(program.command('downscale')
    .description('downscaling: coarse fields (block means by --factor) to the model\'s grid by guidance on the block-mean operator'), { guidance: 'reconstruction', weight: 'factor^2' })
    .requiredOption('--factor <k>', 'integer block size: the model\'s grid is k times finer in each direction', intOption(2))
    .action((o: CommonFlags & { factor: number }, cmd: Command) => run('downscale', o, cmd, { downscale: { factor: o.factor } }, { guidance: 'reconstruction', weight: o.factor * o.factor }));
}
