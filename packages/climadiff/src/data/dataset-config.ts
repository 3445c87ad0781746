// One dataset config (JSON, validated) for what a run trains on: the files, the variables and their transforms, the
// selection (box, level, coarsening, dates, months, every n), the split and the grid fit. `climadiff train --dataset`
// reads it; the run folder keeps a copy (dataset.json, with the data paths made absolute), so the run's data can be
// reproduced from that file alone.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { CHANNEL_TRANSFORMS } from './normalise.js';
import { DATE_FEATURE_KINDS } from './dates.js';
import { SourceSelectionSchema } from './select-source.js';
import { parseSplitSpec } from './split.js';
import { DataError } from './types.js';

export const DatasetConfigSchema = z.object({
  /** One file, a list, a glob or a directory (paths relative to the config file). */
  data: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  variables: z.array(z.string().min(1)).min(1),
  /** Value transform per variable (default: sqrt for precipitation, none otherwise). */
  transforms: z.record(z.string(), z.enum(CHANNEL_TRANSFORMS as unknown as [string, ...string[]])).optional(),
  normalisation: z.enum(['per-variable', 'climatology', 'seasonal']).optional(),
  select: SourceSelectionSchema.optional(),
  /** blocks, blocks:N, years:VAL:TEST, seasons:N or none (data/split.ts parseSplitSpec). */
  split: z.string().optional().refine((s) => s === undefined || tryParse(s), { message: 'not a split (blocks, blocks:N, years:VAL:TEST, seasons:N, none)' }),
  validation: z.boolean().optional(),
  fit: z.enum(['reflect', 'zeros', 'crop', 'error']).optional(),
  frames: z.number().int().positive().optional(),
  statics: z.boolean().optional(),
  dates: z.enum(['auto', ...DATE_FEATURE_KINDS] as [string, ...string[]]).optional(),
}).strict();
export type DatasetConfig = z.infer<typeof DatasetConfigSchema>;

function tryParse(s: string): boolean {
  try { parseSplitSpec(s); return true; } catch { return false; }
}

/** A config's data paths resolved against a folder (globs and lists too); absolute paths stay. */
function resolvePaths(data: DatasetConfig['data'], base: string): DatasetConfig['data'] {
  const one = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return typeof data === 'string' ? data.split(',').map((p) => one(p.trim())).join(',') : data.map(one);
}

/** Validates a parsed config (errors list every bad field); data paths are resolved against `base`. */
export function parseDatasetConfig(input: unknown, where: string, base: string): DatasetConfig {
  const r = DatasetConfigSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new DataError('bad-config', `${where} is not valid:\n${lines.join('\n')}`);
  }
  return { ...r.data, data: resolvePaths(r.data.data, base) };
}

/** Reads and validates a dataset config file; relative data paths are relative to the file. */
export function readDatasetConfig(path: string): DatasetConfig {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch { throw new DataError('missing-file', `dataset config ${path}: no such file`); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new DataError('bad-config', `dataset config ${path} is not valid JSON: ${(e as Error).message}`); }
  return parseDatasetConfig(json, `dataset config ${path}`, dirname(resolve(path)));
}
