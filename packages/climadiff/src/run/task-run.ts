// The conditional tasks as commands: load a model (run folder, exported model, builtin:NAME), open the data (a file,
// or the model's own recipe data), choose the cases, run the task with progress, keep every finished case in a
// partial folder so a killed run continues where it stopped, and write the ensemble (CF NetCDF-3, NetCDF-4 or Zarr,
// with a member dimension) and a GIF of truth / ensemble mean / members.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@climadiff/torch';
import { openSelectedSource } from '../data/select-source.js';
import type { ClipSource } from '../data/clip-source.js';
import { isPrecipitationLike } from '../data/normalise.js';
import { DataError } from '../data/types.js';
import { writeDataset } from '../data/writers/dataset.js';
import { encodeGIF } from '../viz/render.js';
import { renderPanels, type PanelRow } from '../viz/panels.js';
import { chooseStarts, forecast, interpolate, infill, downscale, type StartSpec, type InfillMask, type Ensemble, type EnsembleOptions, type Guidance, type BlockMismatch } from '../tasks/index.js';
import { resolvePrecision, type Precision } from '../models/index.js';
import { DEFAULT_SAMPLING, type SamplerName, type SamplerSettings } from '../diffusion/samplers/registry.js';
import { loadSamplingModel } from './model-store.js';
import { runSource } from './sample-report.js';
import { ensembleDataset } from './ensemble-file.js';

export type TaskName = 'forecast' | 'interpolate' | 'infill' | 'downscale';
export const TASK_NAMES: readonly TaskName[] = ['forecast', 'interpolate', 'infill', 'downscale'];

export interface TaskRunOptions {
  task: TaskName;
  /** A run folder, an exported model folder or builtin:NAME. */
  checkpoint: string;
  /** The data file (default: the model's own data, recreated from its recipe where needed). */
  data?: string;
  /** Output: .nc (NetCDF-3, 64-bit offset), .nc4 (NetCDF-4) or .zarr. */
  out: string;
  /** The GIF (default: the output's name with .gif; null: none). */
  gif?: string | null;
  starts: StartSpec;
  /** At most this many cases (the first ones). */
  maxCases?: number;
  members: number;
  steps?: number;
  sampler?: SamplerName;
  /** The sampler's grid and churn settings. */
  sampling?: SamplerSettings;
  guidance?: Guidance;
  seed?: number;
  batch?: number;
  precision?: Precision | 'auto';
  device?: string;
  forecast?: { known?: number; leads?: number };
  interpolate?: { every?: number; knownFrames?: number[] };
  infill?: { mask: InfillMask; errorVariance?: Record<string, number> };
  downscale?: { factor: number };
  history: string;
  onProgress?: (done: number, total: number) => void;
  log?: (m: string) => void;
  /** A graceful stop between batches of cases: finished cases stay in OUT.partial, and EnsembleStopped is thrown. */
  signal?: AbortSignal;
  /**
   * Cases shared among this group's ranks (case k on rank k mod size; a member's noise depends on its case and index
   * only, so the ensemble is the one a single process makes). Every rank writes its finished cases into OUT.partial,
   * which the ranks must all see (one machine, or a shared file system); rank 0 then writes the output.
   */
  group?: torch.distributed.ProcessGroup;
}

export interface TaskRunResult {
  ensemble: Ensemble;
  files: string[];
  mismatch: BlockMismatch[] | null;
  /** Cases taken from an earlier, interrupted run. */
  resumed: number;
  /** False on the ranks other than 0 of a shared run: they generated their cases and wrote nothing else. */
  main: boolean;
}

/** The output format of a path by extension. */
export function outputFormat(path: string): 'netcdf3' | 'netcdf4' | 'zarr' {
  if (path.endsWith('.nc')) return 'netcdf3';
  if (path.endsWith('.nc4')) return 'netcdf4';
  if (path.endsWith('.zarr')) return 'zarr';
  throw new DataError('bad-option', `--out must end in .nc (NetCDF-3), .nc4 (NetCDF-4) or .zarr, got '${path}'`);
}

/** SHA-256 of a model's parameters (names, shapes and bytes, in order): two models are the same model when these agree. */
export function modelFingerprint(model: torch.nn.Module): string {
  const h = createHash('sha256');
  for (const [name, p] of model.namedParameters()) h.update(`${name}:${p.shape.join('x')};`).update(Buffer.from(p.detach().contiguous().toBytes()));
  return h.digest('hex');
}

export async function runTask(o: TaskRunOptions): Promise<TaskRunResult> {
  const log = o.log ?? (() => {});
  const format = outputFormat(o.out);
  if (existsSync(o.out)) throw new DataError('output-exists', `refusing to overwrite existing '${o.out}' (choose another name)`);
  const gif = o.gif === undefined ? o.out.replace(/\.(nc4?|zarr)$/, '.gif') : o.gif;
  if (gif && existsSync(gif)) throw new DataError('output-exists', `refusing to overwrite existing '${gif}' (choose another name, or no GIF)`);
  const m = loadSamplingModel(o.checkpoint);
  if ((o.device ?? 'cpu') !== 'cpu') m.model.to(o.device!);
  const where = o.data ?? 'the model\'s data';
  const source: ClipSource = o.data ? await openSelectedSource(o.data, m.runData.variables, m.runData.selection, { log }) : await runSource(m.runData, log);
  try {
    const F = m.runData.frames;
    const k = o.forecast?.known ?? Math.min(4, F - 1);
    const [before, after] = o.task === 'forecast' ? [k, o.forecast?.leads ?? F - k] : [0, F];
    const factor = o.downscale?.factor ?? 0;
    let starts = chooseStarts(source, m.runData, o.starts, before, after, where);
    if (o.maxCases !== undefined) starts = starts.slice(0, o.maxCases);
    // the partial folder: the settings that define the cases, and one file per finished case
    const partial = `${o.out}.partial`;
    // the model by content, not by name: builtin:NAME or a run folder may hold another model by the time a run resumes
    // the precision resolved for this machine: cases of an fp32 run and of a bf16-mixed one are not one ensemble
    const key = JSON.stringify({ task: o.task, checkpoint: o.checkpoint, model: modelFingerprint(m.model), data: o.data ?? null, starts, members: o.members, steps: o.steps ?? DEFAULT_SAMPLING.steps, sampler: o.sampler ?? DEFAULT_SAMPLING.sampler, sampling: o.sampling ?? {},
      precision: resolvePrecision(o.precision, o.device ?? 'cpu'),
      guidance: o.guidance ?? null, seed: o.seed ?? 0, batch: o.batch ?? 16, forecast: o.forecast ?? null, interpolate: o.interpolate ?? null, infill: o.infill ?? null, downscale: o.downscale ?? null });
    const group = o.group && o.group.size > 1 ? o.group : null;
    const main = (group?.rank ?? 0) === 0;
    // shared: rank 0 checks and creates the partial folder before any rank reads it or writes a case into it
    let done = main ? readPartial(partial, key) : new Map<number, Float32Array>();
    if (main) {
      if (done.size > 0) log(`resuming: ${done.size} of ${starts.length} case(s) already done in ${partial}`);
      mkdirSync(partial, { recursive: true });
      writeFileSync(join(partial, 'settings.json'), key);
    }
    if (group) {
      group.barrier();
      if (!main) done = readPartial(partial, key);
    }
    const common: EnsembleOptions = {
      members: o.members, ...(o.steps ? { steps: o.steps } : {}), ...(o.sampler ? { sampler: o.sampler } : {}), ...(o.sampling ? { sampling: o.sampling } : {}), ...(o.guidance ? { guidance: o.guidance } : {}),
      seed: o.seed ?? 0, ...(o.batch ? { batch: o.batch } : {}), ...(o.precision ? { precision: o.precision } : {}), ...(o.device ? { device: o.device } : {}),
      done, ...(o.signal ? { signal: o.signal } : {}), ...(group ? { share: { rank: group.rank, count: group.size } } : {}),
      onCase: (i, members) => {
        const file = join(partial, `case-${String(i).padStart(6, '0')}.f32`);
        writeFileSync(`${file}.tmp`, members);
        renameSync(`${file}.tmp`, file);
      },
      onProgress: (p) => o.onProgress?.(p.casesDone * (o.steps ?? 256) + p.step * p.batchCases * (o.steps ?? 256) / p.steps, starts.length * (o.steps ?? 256)),
    };
    const runOnce = async (opts: EnsembleOptions): Promise<{ ensemble: Ensemble; mismatch: BlockMismatch[] | null }> => {
      let ensemble: Ensemble;
      let mismatch: BlockMismatch[] | null = null;
      switch (o.task) {
        case 'forecast': ensemble = await forecast(m, source, { ...opts, starts, known: k, leads: after }, where); break;
        case 'interpolate': ensemble = await interpolate(m, source, { ...opts, starts, ...o.interpolate }, where); break;
        case 'infill': {
          if (!o.infill) throw new DataError('bad-option', 'infill needs a mask: --box, --stations or --missing');
          const ev = o.infill.errorVariance;
          const errorVariance = ev ? m.runData.variables.map((v) => ev[v] ?? 0) : undefined;
          if (ev) for (const v of Object.keys(ev)) if (!m.runData.variables.includes(v)) throw new DataError('bad-option', `an observation error was given for '${v}', which the model does not have (${m.runData.variables.join(', ')})`);
          ensemble = await infill(m, source, { ...opts, starts, mask: o.infill.mask, ...(errorVariance ? { errorVariance } : {}) }, where);
          break;
        }
        case 'downscale': {
          if (!factor) throw new DataError('bad-option', 'downscale needs --factor');
          const r = await downscale(m, source, { ...opts, starts, factor }, where);
          mismatch = r.mismatch;
          ensemble = r;
          break;
        }
      }
      return { ensemble, mismatch };
    };
    let { ensemble, mismatch } = await runOnce(common);
    if (group) {
      // every rank's cases are in the partial folder: the totals of the generation, then rank 0 assembles the ensemble
      const clampCounts = ensemble.clamped.flatMap((c) => [c.below, c.above, c.total]);
      const sums = torch.tensor([ensemble.nfe.forward, ensemble.nfe.backward, ...clampCounts], { dtype: 'float64' });
      const longest = torch.tensor([ensemble.seconds], { dtype: 'float64' });
      group.allReduce(sums, { op: 'sum' });
      group.allReduce(longest, { op: 'max' });
      const [forward, backward, ...clamps] = sums.toArray() as number[];
      const seconds = longest.item();
      sums.dispose(); longest.dispose();
      group.barrier();
      if (!main) return { ensemble, files: [], mismatch, resumed: done.size, main: false };
      const all = readPartial(partial, key);
      const { share: _mine, ...whole } = common;
      ({ ensemble, mismatch } = await runOnce({ ...whole, done: all }));
      ensemble = { ...ensemble, nfe: { forward: forward!, backward: backward! }, seconds,
        clamped: ensemble.clamped.map((c, i) => ({ ...c, below: clamps[3 * i]!, above: clamps[3 * i + 1]!, total: clamps[3 * i + 2]! })) };
    }
    // the model's selection of its data: `climadiff score` takes the same part of the truth files by default
    const ds = ensembleDataset(ensemble, o.history, { source: o.data ?? m.runData.source, model: o.checkpoint,
      ...(m.runData.selection ? { climadiff_selection: JSON.stringify(m.runData.selection) } : {}) });
    // NetCDF-4: one member and one frame per chunk, deflated; NetCDF-3 and Zarr as their writers choose
    await writeDataset(ds, o.out, { format, history: o.history, ...(format === 'netcdf4' ? { chunks: { member: 1 } } : {}) });
    const files = [o.out];
    if (gif) { writeFileSync(gif, ensembleGIF(ensemble)); files.push(gif); }
    rmSync(partial, { recursive: true, force: true });
    return { ensemble, files, mismatch, resumed: done.size, main: true };
  } finally {
    (source as { close?: () => void }).close?.();
  }
}

/** Finished cases of an interrupted run with the same settings; a partial folder of other settings is an error. */
function readPartial(dir: string, key: string): Map<number, Float32Array> {
  const done = new Map<number, Float32Array>();
  if (!existsSync(dir)) return done;
  const settings = join(dir, 'settings.json');
  const cases = readdirSync(dir).filter((f) => /^case-\d+\.f32$/.test(f));
  if (!existsSync(settings) && cases.length === 0) return done; // killed before its first case: nothing to keep
  if (!existsSync(settings) || readFileSync(settings, 'utf8') !== key) {
    throw new DataError('output-exists', `${dir} holds an interrupted run with other settings: run the same command to continue it, or delete the folder`);
  }
  for (const f of cases) {
    const m = /^case-(\d+)\.f32$/.exec(f)!;
    const buf = readFileSync(join(dir, f));
    done.set(Number(m[1]), new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice());
  }
  return done;
}

/** A GIF of the first case, first variable (and the second, for two-variable models, as a second GIF row block): truth, ensemble mean, members. */
export function ensembleGIF(e: Ensemble, variable = 0, maxMembers = 3): Uint8Array {
  const [M, N, C, F, H, W] = e.shape;
  const per = C * F * H * W;
  const rows: PanelRow[] = [];
  if (e.truth) rows.push({ label: 'truth', data: e.truth.subarray(0, per), count: 1, channels: C, channel: variable });
  const mean = new Float32Array(per);
  for (let i = 0; i < M; i++) { const off = (i * N) * per; for (let j = 0; j < per; j++) mean[j] = mean[j]! + e.data[off + j]! / M; }
  rows.push({ label: `ensemble mean (${M} members)`, data: mean, count: 1, channels: C, channel: variable });
  const shown = Math.min(M, maxMembers);
  const members = new Float32Array(shown * per);
  for (let i = 0; i < shown; i++) members.set(e.data.subarray((i * N) * per, (i * N + 1) * per), i * per);
  rows.push({ label: shown < M ? `members 1-${shown} of ${M}` : 'members', data: members, count: shown, channels: C, channel: variable });
  const name = e.variables[variable]!;
  const units = e.units[variable] ?? undefined;
  const precip = isPrecipitationLike(name, units);
  const step = e.frameStep;
  const labels = Array.from({ length: F }, (_, f) => (e.task === 'forecast' ? `lead ${f + 1} (${f + 1} x ${step} ${e.timeUnits.units.split(' ')[0]})` : `frame ${f + 1}/${F}`));
  const anim = renderPanels({
    rows, height: H, width: W, frames: F, ...(e.lat ? { lat: e.lat } : {}), ...(e.lon ? { lon: e.lon } : {}),
    title: `${name} ${e.task}`, ...(units ? { units } : {}), labels, ...(precip ? { colormap: 'rain' as const, vmin: 0 } : {}),
  });
  return encodeGIF(anim, { delayMs: 400 });
}
