// What generation needs to know about a trained model: the network (EMA weights, eval mode), its noise schedule,
// the normalisation statistics, the description of its data (grid, variables, units, time axis) and its static
// conditioning fields. run/model-store.ts loads one from a run folder, an exported model or builtin:NAME.
import { z } from 'zod';
import { SourceSelectionSchema } from '../data/select-source.js';
import type { Tensor } from '@climadiff/torch';
import { DATE_FEATURE_KINDS } from '../data/dates.js';
import type { NormStats } from '../data/normalise.js';
import type { UNet3D } from '../models/index.js';
import type { Schedule } from '../diffusion/schedule.js';

/** What a run remembers about its data, so samples come back on the same grid, in the same units, for dates. */
export const RunDataSchema = z.object({
  source: z.string(),
  variables: z.array(z.string()).min(1),
  units: z.array(z.string().nullable()),
  frames: z.number().int().positive(),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  lat: z.array(z.number()).nullable(),
  lon: z.array(z.number()).nullable(),
  /** First frames (time indices of the source) of the held-out test clips. */
  test: z.array(z.number().int()),
  /** Time-index ranges [start, end) of the training frames (statistics and anomalies are fitted there). */
  trainRanges: z.array(z.tuple([z.number().int(), z.number().int()])).default([]),
  /** Static conditioning channels (statics.safetensors), [] for none. */
  statics: z.array(z.string()).default([]),
  /** Date conditioning (data/dates.ts). */
  dateFeatures: z.enum(DATE_FEATURE_KINDS as [string, ...string[]]).default('none'),
  /** How the data were split (data/split.ts parseSplitSpec) and whether a validation split was held out. */
  split: z.string().default('blocks'),
  /** What was selected of the source files (box, level, coarsening, dates, months, every n): applied whenever they are opened again. */
  selection: SourceSelectionSchema.nullable().default(null),
  validation: z.boolean().default(true),
  /**
   * The source's time axis: CF units and calendar, the step between a clip's frames (in those units), and the
   * times of the training clips' first frames (the calendar samples draw their dates from).
   */
  time: z.object({ units: z.string(), calendar: z.string(), frameStep: z.number().positive(), trainStarts: z.array(z.number()) }).nullable().default(null),
  /** How to recreate the source when it is not on this machine (the built-in simulator's command). */
  recipe: z.object({ simulate: z.object({ model: z.enum(['earth', 'qg']), frames: z.number().int().positive(), seed: z.number().int(), every: z.number().positive() }) }).nullable().default(null),
});
export type RunData = z.infer<typeof RunDataSchema>;

export interface GenerationModel {
  model: UNet3D;
  schedule: Schedule;
  stats: NormStats;
  runData: RunData;
  /** [S, H, W] static fields, null without. */
  statics: Tensor | null;
}
