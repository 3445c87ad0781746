// The trainer's contracts: what it trains (any module with forward(x, logsnr, cond?)), what it reads,
// what it reports, and what a run returns.
import type * as torch from '@climadiff/torch';
import type { Posterior } from '../models/encoder.js';
import type { Tensor } from '@climadiff/torch';
import type { Denoiser, Schedule } from '../diffusion/index.js';
import type { TrainConfig, TrainConfigInput } from './config.js';
import type { DenoisingNetwork } from '../models/denoiser.js';

/** Any network the trainer can train: an nn.Module with forward(x, logsnr, cond?, date?) predicting its declared parameterisation. */
export interface TrainableModel extends torch.nn.Module, DenoisingNetwork {
  forward(x: Tensor, logsnr: Tensor, cond?: Tensor, date?: Tensor): Tensor;
  /**
   * An input transform learned with the model (UNet3D's learned monotone transforms): the data the diffusion runs on,
   * and per example the log-derivative term of the change of variables (subtracted from the loss, times
   * config.transformWeight).
   */
  encode?(x: Tensor, observed?: Tensor): { x: Tensor; logDerivative: Tensor };
  /** d of a representation model's latent w (0 or absent: none). */
  readonly latentDim?: number;
  /** q(w|x) of a representation model, from the data the diffusion runs on and the static fields. */
  posterior?(x: Tensor, cond?: Tensor | null): Posterior;
}

/** One batch: x [B, C, F, H, W]; mask the same shape, 1 = missing; statics (conditioning) passed as cond; date [B, D]. */
export interface TrainBatch {
  x: Tensor;
  mask?: Tensor;
  statics?: Tensor;
  date?: Tensor;
  /** Data-parallel: these rows are rows [offset, offset + B) of a global batch of `total` examples. */
  part?: { offset: number; total: number };
}

/**
 * A dataset the trainer reads: ClipDataset fits. The order of batches must depend only on the options. With `shard`
 * (data-parallel training) a source may return only its part of each global batch, with `part` set (ClipDataset
 * does); one that ignores `shard` returns whole batches, which the trainer then cuts itself.
 */
export interface TrainData {
  batches(options: { batchSize: number; shuffle?: boolean; seed?: number; epoch?: number; dropLast?: boolean; readAhead?: number;
    shard?: { rank: number; count: number } }): AsyncIterable<TrainBatch>;
}

export interface TrainProgress {
  step: number;
  /** The step the run ends at: config.steps, or the step the time budget is projected to end at if that comes first. */
  totalSteps: number | null;
  /** Loss of this step (null: non-finite, the step was skipped). */
  loss: number | null;
  lr: number;
  samplesPerSecond: number;
  etaSeconds: number | null;
  elapsedSeconds: number;
  skipped: boolean;
}

export interface ValidationResult {
  step: number;
  /** Mean validation loss under the EMA weights. */
  loss: number;
  /** Mean ELBO in bits per (observed) dimension, null when elboSteps = 0. */
  bpd: number | null;
}

export interface PreviewContext {
  step: number;
  runDir: string | undefined;
  /** The model holding the EMA weights, in eval mode, for the duration of the callback. */
  model: TrainableModel;
  denoiser: Denoiser;
  schedule: Schedule;
  /** config.previewSamples and config.previewSteps. */
  samples: number;
  steps: number;
}

export interface TrainOptions {
  model: TrainableModel;
  config: TrainConfigInput | TrainConfig;
  data: TrainData;
  validation?: TrainData;
  /** Run folder: checkpoints, metrics.jsonl, loss_curve.svg/png. Without it nothing is written. */
  runDir?: string;
  /** Continue from runDir's latest checkpoint (an error when there is none). */
  resume?: boolean;
  /** Opaque JSON stored in checkpoint.json (the model's config, the data's normalisation statistics). */
  modelConfig?: unknown;
  normStats?: unknown;
  /** Device of the model ('cpu', 'cuda', 'cuda:N'): batches are moved there; precision 'auto' is resolved for it. */
  device?: string;
  /** Stop this invocation once this step is reached (a checkpoint is written), e.g. to split a run. */
  untilStep?: number;
  /**
   * A graceful stop (SIGINT, SIGTERM, a scheduler's warning signal): when it is aborted the current step finishes, a
   * checkpoint is written and metrics are flushed; stopReason is 'signal' and signal.reason says why.
   */
  signal?: AbortSignal;
  /**
   * Wall-clock time (ms since the epoch) by which this invocation must have stopped with its checkpoint written, e.g.
   * the end of a cluster allocation: no step is started that would not finish, with a checkpoint, before it.
   */
  deadline?: number;
  onProgress?: (p: TrainProgress) => void;
  onValidation?: (r: ValidationResult) => void;
  /** Messages such as skipped non-finite steps (default: written to stderr). */
  onLog?: (message: string) => void;
  /** Called every config.previewEvery steps with the EMA weights loaded (e.g. to sample and write a GIF). */
  preview?: (ctx: PreviewContext) => void | Promise<void>;
  /**
   * Data-parallel training over this group's ranks (docs/training.md): config.batchSize is the global batch, cut into
   * one part per rank; gradients are averaged by c10d's Reducer while backward runs; rank 0 alone writes the run folder
   * (checkpoints, metrics, previews) and reports progress; validation and stops are agreed on by all ranks.
   */
  group?: torch.distributed.ProcessGroup;
}

export interface TrainResult {
  step: number;
  updates: number;
  /** Last finite training loss. */
  lastLoss: number | null;
  stopReason: 'steps' | 'minutes' | 'untilStep' | 'signal' | 'deadline';
  /** With stopReason 'signal': the abort reason (e.g. 'SIGTERM'). */
  signalReason?: string;
  lastValidation: ValidationResult | null;
  /** Folder of the last checkpoint written, when a runDir was given. */
  checkpoint: string | null;
  resumedFrom: number | null;
}


/** Thrown after config.maxNonFiniteInARow non-finite losses in a row. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}
