// A small untrained generation model (tas with monthly-climatology anomalies, pr by square root or a learned
// transform, date features) on an 8 x 8 or given grid, for the tests of tasks/: what they check is the plumbing
// (dates, masks, physical units, batching, resumption), not the quality of an untrained network.
import * as torch from '@climadiff/torch';
import { UNet3D } from '../src/models/index.js';
import { alphaCosineSchedule } from '../src/diffusion/index.js';
import { RunDataSchema, type GenerationModel } from '../src/tasks/model.js';
import type { NormStats } from '../src/data/normalise.js';

export interface TinyModelOptions {
  learned?: boolean;
  frames?: number;
  height?: number;
  width?: number;
  lat?: number[] | null;
  lon?: number[] | null;
  time?: { units: string; calendar: string; frameStep: number; trainStarts: number[] };
}

/** tas (climatology anomalies, a different mean map per month) and pr (square root, per-variable, or learned). */
export function tinyModel(learnedOrOptions: boolean | TinyModelOptions = false): GenerationModel {
  const o: TinyModelOptions = typeof learnedOrOptions === 'boolean' ? { learned: learnedOrOptions } : learnedOrOptions;
  const learned = o.learned ?? false, F = o.frames ?? 4, H = o.height ?? 8, W = o.width ?? 8, HW = H * W, C = 2;
  torch.manualSeed(5);
  const clim = Array.from({ length: 12 * HW }, (_, k) => 250 + Math.floor(k / HW) * 2 + (k % HW) * 0.1);
  const stats: NormStats = {
    version: 2, height: H, width: W, channels: [
      { name: 'tas', units: 'K', kind: 'climatology', transform: 'none', mean: 0, std: 3, climatology: clim, min: null },
      learned
        ? { name: 'pr', units: 'mm h-1', kind: 'per-variable', transform: 'learned', mean: 0, std: 0.5, min: 0, max: 4 }
        : { name: 'pr', units: 'mm h-1', kind: 'per-variable', transform: 'sqrt', mean: 0.3, std: 0.4, min: 0, max: 4 },
    ],
  };
  const model = new UNet3D({
    inChannels: C, channels: 8, channelMults: [1, 2], attentionLevels: [], headChannels: 8, groups: 4, dateFeatures: 2,
    ...(learned ? { learnedTransforms: [{ channel: 1, hidden: 8, domainMax: 10, threshold: 0.02 }] } : {}),
  }).eval();
  // an untrained U-Net's output layer starts at zero, so x_hat of one element would not depend on the others' z and
  // guidance could not act: give every weight some noise
  torch.noGrad(() => { for (const p of model.parameters()) p.add_(torch.randn(p.shape).mul(0.05)); });
  const runData = RunDataSchema.parse({
    source: 'x.nc', variables: ['tas', 'pr'], units: ['K', 'mm h-1'], frames: F, height: H, width: W, lat: o.lat ?? null, lon: o.lon ?? null, test: [],
    dateFeatures: 'year', time: o.time ?? { units: 'days since 2000-01-01', calendar: 'standard', frameStep: 0.25, trainStarts: [0, 40, 200] },
  });
  return { model, schedule: alphaCosineSchedule(), stats, runData, statics: null };
}
