// The training configuration: one validated JSON object (zod), every field with a default, so a run folder's
// checkpoint.json records exactly what produced it.
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

/** Loss: 'v' is the seed's v-MSE with t ~ U(0, 1) (eqs 2.71-2.72); 'weighted:<w>' the Kingma & Gao family (eq. 2.87). */
export const LossSchema = z.enum(['v', 'weighted:elbo', 'weighted:eps-mse', 'weighted:x-mse', 'weighted:v-mse']);
export type LossKind = z.infer<typeof LossSchema>;

export const LrScheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), warmupSteps: nonNegInt.default(0) }).strict(),
  z.object({
    kind: z.literal('warmup-cosine'),
    warmupSteps: nonNegInt.default(100),
    /** Step at which the cosine reaches minLr (default: `steps`). */
    totalSteps: positiveInt.optional(),
    minLr: z.number().nonnegative().default(0),
  }).strict(),
]);
export type LrScheduleConfig = z.infer<typeof LrScheduleSchema>;

export const DiffusionConfigSchema = z.object({
  schedule: z.literal('alpha-cosine').default('alpha-cosine'),
  logsnrMin: z.number().default(-30),
  logsnrMax: z.number().default(30),
  /** Shift of the logSNR (eqs 2.65-2.66 applied to lambda - shift); 0 is the seed's schedule. */
  shift: z.number().default(0),
  /**
   * Deprecated: what the network predicts is the network's own (UNet3DConfig.parameterisation). Older runs stored it
   * here; when given it must agree with the network (checked when training and loading).
   */
  parameterisation: z.enum(['v', 'eps', 'x']).optional(),
}).strict();
export type DiffusionConfig = z.infer<typeof DiffusionConfigSchema>;

export const TrainConfigSchema = z.object({
  seed: nonNegInt.default(0),
  /** Total optimizer steps of the run (absolute, counted across resumes). */
  steps: positiveInt.optional(),
  /** Wall-clock budget of this invocation in minutes (stops at whichever of steps / minutes comes first). */
  minutes: z.number().positive().optional(),
  batchSize: positiveInt.default(4),
  /** Micro-batches per optimizer step (gradient accumulation): effective batch = batchSize * gradAccumulation. */
  gradAccumulation: positiveInt.default(1),
  shuffle: z.boolean().default(true),
  dropLast: z.boolean().default(true),
  optimizer: z.object({
    kind: z.literal('adamw').default('adamw'),
    lr: z.number().positive().default(2e-4),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    eps: z.number().positive().default(1e-8),
    weightDecay: z.number().nonnegative().default(0.01),
  }).strict().default({ kind: 'adamw', lr: 2e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }),
  lrSchedule: LrScheduleSchema.default({ kind: 'warmup-cosine', warmupSteps: 100, minLr: 0 }),
  /** Max global gradient norm (null: no clipping). */
  gradClip: z.number().positive().nullable().default(1),
  /** EMA decay of the weights used for sampling (0 disables averaging: EMA = current weights). */
  emaDecay: z.number().min(0).lt(1).default(0.999),
  /**
   * Warm the EMA up: the n-th update (from 0) uses min(emaDecay, (1 + n) / (10 + n)), so early weights are not
   * averaged over a long, still-changing past (short runs sample from current, not stale, weights).
   */
  emaWarmup: z.boolean().default(true),
  loss: LossSchema.default('v'),
  /**
   * Numeric precision: 'fp32', 'bf16-mixed' (the forward pass under bf16 autocast; weights, optimizer, EMA and
   * checkpoints stay float32), 'fp16-mixed' (CUDA only, with a gradient scaler), or 'auto' = bf16-mixed where the
   * hardware computes bf16 natively (AVX512-BF16/AMX CPUs, CUDA), fp32 elsewhere. A run records the resolved value.
   */
  precision: z.enum(['auto', 'fp32', 'bf16-mixed', 'fp16-mixed']).default('auto'),
  /**
   * lambda of a learned input transform's change-of-variables term (train/objective.ts); null: 1 / channels, which
   * puts the per-element log-derivative of one channel on the scale of the per-element v-loss over all channels.
   */
  transformWeight: z.number().nonnegative().nullable().default(null),
  /**
   * beta of a representation model's KL(q(w|x) || N(0, I)) (002_b831863fd030c65c.txt sec. 4; train/objective.ts): 1 is
   * the seed's bound; other values are a beta-VAE objective, not a bound. Ignored by models without a representation.
   */
  klWeight: z.number().nonnegative().default(1),
  /**
   * Training batches read ahead in a worker thread while the step runs (data that can be reopened: files; in-memory
   * data are read in place); 0 reads each batch when the step asks for it. Batches are identical either way.
   */
  readAhead: nonNegInt.default(2),
  /** Use the batch's missing-data mask (1 = missing) so missing elements never reach the loss. */
  maskedLoss: z.boolean().default(true),
  diffusion: DiffusionConfigSchema.default({ schedule: 'alpha-cosine', logsnrMin: -30, logsnrMax: 30, shift: 0 }),
  /** Stop with an error after this many non-finite (NaN / Inf) losses in a row. */
  maxNonFiniteInARow: positiveInt.default(5),
  logEvery: positiveInt.default(10),
  /** 0 disables. */
  validateEvery: nonNegInt.default(500),
  validation: z.object({
    /** Most validation batches per evaluation. */
    maxBatches: positiveInt.default(4),
    /** Gauss-Legendre nodes of the ELBO's diffusion integral (0: no ELBO). */
    elboSteps: nonNegInt.default(16),
    /** Noise draws per quadrature node. */
    elboSamples: positiveInt.default(1),
  }).strict().default({ maxBatches: 4, elboSteps: 16, elboSamples: 1 }),
  checkpointEvery: nonNegInt.default(500),
  /** Checkpoints kept in the run folder (the newest ones). */
  keepCheckpoints: positiveInt.default(3),
  /**
   * Checkpoints kept besides the newest ones: the keepBest with the lowest validation loss (a checkpoint is written
   * whenever validation finds a new best); the run folder's `best` names the lowest. 0: none, and no `best`.
   */
  keepBest: nonNegInt.default(1),
  /** Sample previews every this many steps with the EMA weights (0 disables): previews/step-NNNNNN.gif in the run folder. */
  previewEvery: nonNegInt.default(0),
  /** Sequences per preview. */
  previewSamples: positiveInt.default(2),
  /** Ancestral sampler steps per preview. */
  previewSteps: positiveInt.default(64),
}).strict().superRefine((c, ctx) => {
  if (c.steps === undefined && c.minutes === undefined) ctx.addIssue({ code: 'custom', message: 'give steps or minutes (or both)', path: ['steps'] });
  if (c.lrSchedule.kind === 'warmup-cosine' && c.lrSchedule.totalSteps === undefined && c.steps === undefined) {
    ctx.addIssue({ code: 'custom', message: "lrSchedule 'warmup-cosine' needs lrSchedule.totalSteps or steps", path: ['lrSchedule', 'totalSteps'] });
  }
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** A clear, path-by-path error for a config that does not validate. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates (and fills defaults of) a training config; throws ConfigError listing every problem. */
export function parseTrainConfig(input: unknown, where = 'training config'): TrainConfig {
  const r = TrainConfigSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ConfigError(`${where} is not valid:\n${lines.join('\n')}`);
  }
  return r.data;
}
