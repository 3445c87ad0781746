// Run-folder checkpoints, written atomically as a whole:
//   runDir/ckpt-000050.tmp/  model.safetensors, ema.safetensors, optimizer.safetensors, checkpoint.json  (fsync'd)
//   -> rename to runDir/ckpt-000050 (fsync runDir)
//   -> runDir/latest.tmp holding "ckpt-000050" (fsync) -> rename to runDir/latest (fsync runDir)
// A kill at any moment leaves `latest` pointing at a complete folder (or, before the first pointer update,
// absent: loadCheckpoint then takes the newest complete ckpt-* folder; *.tmp folders are never read). Weights use PyTorch's dotted names, so Python's
// safetensors loads them; the optimizer state is PyTorch's state_dict layout, its tensors in
// optimizer.safetensors under 'state.<position>.<key>'.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { TrainConfigSchema, type TrainConfig } from './config.js';

export const CHECKPOINT_FORMAT = 'climadiff-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const LATEST = 'latest';
/** The pointer to the checkpoint with the lowest validation loss. */
export const BEST = 'best';

/** What a run folder keeps: the newest `keep` checkpoints, and the `keepBest` with the lowest validation loss. */
export interface KeepPolicy { keep?: number; keepBest?: number }

/** A checkpoint that is missing, incomplete or corrupt; the message says which file and what is wrong. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

const TensorRef = z.object({ tensor: z.string() }).strict();
const StateValue = z.union([z.number(), z.null(), TensorRef]);

export const CheckpointJsonSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  /** Optimizer steps taken (including skipped non-finite steps). */
  step: z.number().int().nonnegative(),
  /** Optimizer updates actually applied. */
  updates: z.number().int().nonnegative(),
  samplesSeen: z.number().int().nonnegative(),
  /** Data order: batches come from (seed, epoch); `position` batches of this epoch are consumed. */
  data: z.object({ epoch: z.number().int().nonnegative(), position: z.number().int().nonnegative() }).strict(),
  nonFiniteInARow: z.number().int().nonnegative(),
  trainConfig: TrainConfigSchema,
  modelConfig: z.unknown(),
  diffusionConfig: z.unknown(),
  normStats: z.unknown(),
  optimizer: z.object({
    state: z.record(z.string(), z.record(z.string(), StateValue)),
    param_groups: z.array(z.looseObject({ params: z.array(z.number().int().nonnegative()) })),
  }).strict(),
  scheduler: z.record(z.string(), z.unknown()).nullable(),
  /** The fp16 gradient scaler's state (PyTorch's GradScaler.state_dict() keys), absent for other precisions. */
  scaler: z.record(z.string(), z.number()).nullable().optional(),
  /** torch.Generator states (uint8 bytes, base64): the loss noise generator and the default one (dropout). */
  rng: z.object({ train: z.string(), default: z.string() }).strict(),
  files: z.object({ model: z.string(), ema: z.string(), optimizer: z.string() }).strict(),
  createdAt: z.string(),
  elapsedMs: z.number().nonnegative(),
  /** The validation loss measured at this checkpoint's step, when there was one (ranks checkpoints for `best`). */
  valLoss: z.number().nullable().optional(),
}).strict();
export type CheckpointJson = z.infer<typeof CheckpointJsonSchema>;

export interface CheckpointData {
  step: number;
  updates: number;
  samplesSeen: number;
  data: { epoch: number; position: number };
  nonFiniteInARow: number;
  trainConfig: TrainConfig;
  modelConfig?: unknown;
  diffusionConfig?: unknown;
  normStats?: unknown;
  model: Record<string, Tensor>;
  ema: Record<string, Tensor>;
  optimizer: torch.optim.OptimizerStateDict;
  scheduler: Record<string, unknown> | null;
  scaler?: Record<string, number> | null;
  rng: { train: Tensor; default: Tensor };
  elapsedMs: number;
  /** The validation loss at this step, if validation ran at it. */
  valLoss?: number | null;
}

/** A loaded checkpoint: the folder it came from, its JSON, and the tensors. */
export interface LoadedCheckpoint extends CheckpointData {
  dir: string;
  json: CheckpointJson;
}

export function checkpointName(step: number): string { return `ckpt-${String(step).padStart(6, '0')}`; }
const NAME_RE = /^ckpt-(\d{6,})$/;

function fsyncPath(path: string): void {
  let fd: number | undefined;
  try { fd = openSync(path, 'r'); fsyncSync(fd); } catch { /* some systems refuse to fsync a directory */ } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeFileSynced(path: string, text: string): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally { closeSync(fd); }
}

const b64 = (t: Tensor): string => Buffer.from(t.toBytes()).toString('base64');
function fromB64(s: string, what: string): Tensor {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length === 0) throw new CheckpointError(`${what} is empty`);
  return torch.tensor(new Uint8Array(bytes), [bytes.length], { dtype: 'uint8' });
}

/** Splits an optimizer state dict into JSON structure + named tensors. */
function packOptimizer(sd: torch.optim.OptimizerStateDict): { json: CheckpointJson['optimizer']; tensors: Record<string, Tensor> } {
  const tensors: Record<string, Tensor> = {};
  const state: CheckpointJson['optimizer']['state'] = {};
  for (const [pos, entry] of Object.entries(sd.state)) {
    const out: Record<string, z.infer<typeof StateValue>> = {};
    for (const [k, v] of Object.entries(entry)) {
      if (v instanceof torch.Tensor) { const name = `state.${pos}.${k}`; tensors[name] = v; out[k] = { tensor: name }; } else out[k] = v ?? null;
    }
    state[pos] = out;
  }
  return { json: { state, param_groups: JSON.parse(JSON.stringify(sd.param_groups)) }, tensors };
}

function unpackOptimizer(json: CheckpointJson['optimizer'], tensors: Record<string, Tensor>, file: string): torch.optim.OptimizerStateDict {
  const state: torch.optim.OptimizerStateDict['state'] = {};
  for (const [pos, entry] of Object.entries(json.state)) {
    const s: Record<string, Tensor | number | null> = {};
    for (const [k, v] of Object.entries(entry)) {
      if (v !== null && typeof v === 'object') {
        const t = tensors[v.tensor];
        if (t === undefined) throw new CheckpointError(`${file} lacks tensor '${v.tensor}' listed in checkpoint.json`);
        s[k] = t;
      } else s[k] = v;
    }
    state[Number(pos)] = s;
  }
  return { state, param_groups: json.param_groups as torch.optim.OptimizerStateDict['param_groups'] };
}

/** Complete checkpoint folders of a run, oldest first. */
export function listCheckpoints(runDir: string): { name: string; step: number }[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir).flatMap((name) => {
    const m = NAME_RE.exec(name);
    return m ? [{ name, step: Number(m[1]) }] : [];
  }).sort((a, b) => a.step - b.step);
}

/**
 * Writes a checkpoint into runDir atomically (see the file comment), points `latest` at it and keeps the
 * newest `keep` checkpoints. Returns the folder written.
 */
export function saveCheckpoint(runDir: string, data: CheckpointData, options: KeepPolicy = {}): string {
  mkdirSync(runDir, { recursive: true });
  const name = checkpointName(data.step);
  const final = join(runDir, name);
  const tmp = `${final}.tmp`;
  try {
    return writeCheckpoint(runDir, data, options, name, final, tmp);
  } catch (e) {
    // nothing half-written stays, and `latest` still names the previous checkpoint (the rename below is the last
    // step that can fail before the pointer moves)
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof CheckpointError) throw e;
    const need = folderBytes(join(runDir, readLatest(runDir) ?? '')) || tensorBytes(data);
    let free = '';
    try { const st = statfsSync(runDir); free = `, ${formatBytes(st.bavail * st.bsize)} free`; } catch { /* not every file system says */ }
    throw new CheckpointError(`could not write checkpoint ${name} in ${runDir}: ${(e as Error).message.split('\n')[0]} (a checkpoint needs about ${formatBytes(need)}${free}); ` +
      `the previous checkpoint${readLatest(runDir) ? ` ${readLatest(runDir)}` : ''} is intact and --resume continues from it`);
  }
}

/** Bytes of the files in a folder (0 when it does not exist). */
function folderBytes(dir: string): number {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return 0;
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** About the bytes of a checkpoint's tensors in float32: model, EMA and Adam's two moments per parameter. */
function tensorBytes(data: CheckpointData): number {
  const n = (r: Record<string, Tensor>) => Object.values(r).reduce((a, t) => a + t.numel() * 4, 0);
  return 3 * n(data.model) + n(data.ema);
}

function formatBytes(b: number): string {
  return b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`;
}

function writeCheckpoint(runDir: string, data: CheckpointData, options: KeepPolicy, name: string, final: string, tmp: string): string {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const files = { model: 'model.safetensors', ema: 'ema.safetensors', optimizer: 'optimizer.safetensors' };
  const opt = packOptimizer(data.optimizer);
  torch.save(data.model, join(tmp, files.model), { metadata: { format: 'pt' } });
  torch.save(data.ema, join(tmp, files.ema), { metadata: { format: 'pt' } });
  torch.save(opt.tensors, join(tmp, files.optimizer), { metadata: { format: 'pt' } });
  const json: CheckpointJson = {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, step: data.step, updates: data.updates, samplesSeen: data.samplesSeen,
    data: data.data, nonFiniteInARow: data.nonFiniteInARow, trainConfig: data.trainConfig,
    modelConfig: data.modelConfig ?? null, diffusionConfig: data.diffusionConfig ?? null, normStats: data.normStats ?? null,
    optimizer: opt.json, scheduler: data.scheduler, ...(data.scaler ? { scaler: data.scaler } : {}), rng: { train: b64(data.rng.train), default: b64(data.rng.default) },
    files, createdAt: new Date().toISOString(), elapsedMs: data.elapsedMs,
    ...(data.valLoss !== undefined && data.valLoss !== null && Number.isFinite(data.valLoss) ? { valLoss: data.valLoss } : {}),
  };
  writeFileSynced(join(tmp, 'checkpoint.json'), `${JSON.stringify(json, null, 1)}\n`);
  fsyncPath(tmp);
  // A folder of the same name can only be a complete checkpoint that `latest` never pointed to (a kill between
  // the rename and the pointer update) or the one it points to (the same step saved again): replace it safely.
  if (existsSync(final)) {
    if (readLatest(runDir) === name) { rmSync(tmp, { recursive: true, force: true }); return final; }
    rmSync(final, { recursive: true, force: true });
  }
  renameSync(tmp, final);
  fsyncPath(runDir);
  writePointer(runDir, LATEST, name);
  // `best`: the lowest validation loss among the checkpoints that have one
  const keepBest = options.keepBest ?? 1;
  const ranked = keepBest > 0 ? rankedByValidation(runDir) : [];
  if (ranked.length > 0 && readPointer(runDir, BEST) !== ranked[0]!.name) writePointer(runDir, BEST, ranked[0]!.name);
  prune(runDir, options.keep ?? 3, keepBest, name, ranked);
  return final;
}

/** Writes a pointer file (latest, best) atomically: a synced temporary file renamed over it. */
function writePointer(runDir: string, pointer: string, name: string): void {
  const tmp = join(runDir, `${pointer}.tmp`);
  writeFileSynced(tmp, `${name}\n`);
  renameSync(tmp, join(runDir, pointer));
  fsyncPath(runDir);
}

/** The checkpoints with a validation loss, lowest first (ties: the earlier step). */
export function rankedByValidation(runDir: string): { name: string; step: number; valLoss: number }[] {
  return listCheckpoints(runDir).flatMap((c) => {
    try {
      const j = JSON.parse(readFileSync(join(runDir, c.name, 'checkpoint.json'), 'utf8')) as { valLoss?: number | null };
      return typeof j.valLoss === 'number' && Number.isFinite(j.valLoss) ? [{ ...c, valLoss: j.valLoss }] : [];
    } catch { return []; }
  }).sort((a, b) => a.valLoss - b.valLoss || a.step - b.step);
}

function prune(runDir: string, keep: number, keepBest: number, current: string, ranked: { name: string }[]): void {
  const all = listCheckpoints(runDir);
  const kept = new Set([current, ...all.slice(Math.max(0, all.length - keep)).map((c) => c.name), ...ranked.slice(0, keepBest).map((c) => c.name)]);
  if (keepBest === 0) rmSync(join(runDir, BEST), { force: true });
  for (const c of all) {
    if (!kept.has(c.name)) rmSync(join(runDir, c.name), { recursive: true, force: true });
  }
  for (const f of readdirSync(runDir)) {
    if (/^ckpt-\d+\.tmp$/.test(f)) rmSync(join(runDir, f), { recursive: true, force: true });
  }
}

function readPointer(runDir: string, pointer: string): string | null {
  const p = join(runDir, pointer);
  if (!existsSync(p)) return null;
  return readFileSync(p, 'utf8').trim();
}

function readLatest(runDir: string): string | null {
  return readPointer(runDir, LATEST);
}

/** True when runDir holds a checkpoint that loadCheckpoint would read. */
export function hasCheckpoint(runDir: string): boolean {
  return readLatest(runDir) !== null || listCheckpoints(runDir).length > 0;
}

/**
 * Reads and validates the latest complete checkpoint of runDir: the folder `latest` names, or, when the
 * pointer is absent (a kill before the first pointer update), the newest complete ckpt-* folder.
 * Throws CheckpointError with the path and the problem when there is none or it is corrupt.
 */
export function loadCheckpoint(runDir: string, which: 'latest' | 'best' = 'latest'): LoadedCheckpoint {
  if (!existsSync(runDir)) throw new CheckpointError(`no checkpoint: the run folder ${runDir} does not exist`);
  if (which === 'best') {
    const best = readPointer(runDir, BEST);
    if (best === null) throw new CheckpointError(`${runDir} has no '${BEST}' checkpoint (none was validated: set validateEvery, and keepBest above 0)`);
    if (!NAME_RE.test(best)) throw new CheckpointError(`${join(runDir, BEST)} is corrupt: it names '${best.slice(0, 80)}', not a ckpt-NNNNNN folder`);
    return loadCheckpointDir(join(runDir, best));
  }
  let name = readLatest(runDir);
  if (name === null) {
    const all = listCheckpoints(runDir);
    if (all.length === 0) throw new CheckpointError(`no checkpoint in ${runDir} (no '${LATEST}' file and no ckpt-NNNNNN folder)`);
    name = all[all.length - 1]!.name;
  }
  if (!NAME_RE.test(name)) throw new CheckpointError(`${join(runDir, LATEST)} is corrupt: it names '${name.slice(0, 80)}', not a ckpt-NNNNNN folder`);
  return loadCheckpointDir(join(runDir, name));
}

/** Reads and validates one checkpoint folder. */
export function loadCheckpointDir(dir: string): LoadedCheckpoint {
  const jsonPath = join(dir, 'checkpoint.json');
  if (!existsSync(jsonPath)) throw new CheckpointError(`checkpoint ${dir} is incomplete: ${jsonPath} is missing`);
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(jsonPath, 'utf8')); } catch (e) {
    throw new CheckpointError(`checkpoint ${jsonPath} is corrupt: ${(e as Error).message}`);
  }
  const r = CheckpointJsonSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 10).map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new CheckpointError(`checkpoint ${jsonPath} does not validate:\n${lines.join('\n')}`);
  }
  const json = r.data;
  const read = (file: string): Record<string, Tensor> => {
    const p = join(dir, file);
    if (!existsSync(p)) throw new CheckpointError(`checkpoint ${dir} is incomplete: ${p} is missing`);
    try { return torch.load(p); } catch (e) { throw new CheckpointError(`checkpoint file ${p} is corrupt: ${(e as Error).message}`); }
  };
  const model = read(json.files.model);
  const ema = read(json.files.ema);
  const optTensors = read(json.files.optimizer);
  const optimizer = unpackOptimizer(json.optimizer, optTensors, join(dir, json.files.optimizer));
  const modelKeys = Object.keys(model).sort().join('\n');
  if (modelKeys !== Object.keys(ema).sort().join('\n')) throw new CheckpointError(`checkpoint ${dir}: ema.safetensors and model.safetensors hold different tensor names`);
  return {
    dir, json, step: json.step, updates: json.updates, samplesSeen: json.samplesSeen, data: json.data,
    nonFiniteInARow: json.nonFiniteInARow, trainConfig: json.trainConfig, modelConfig: json.modelConfig,
    diffusionConfig: json.diffusionConfig, normStats: json.normStats, model, ema, optimizer, scheduler: json.scheduler, scaler: json.scaler ?? null,
    rng: { train: fromB64(json.rng.train, `${jsonPath} rng.train`), default: fromB64(json.rng.default, `${jsonPath} rng.default`) },
    elapsedMs: json.elapsedMs, valLoss: json.valLoss ?? null,
  };
}
