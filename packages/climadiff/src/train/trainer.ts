// The training loop: AdamW + LR schedule + gradient clipping + EMA over any module with
// forward(x, logsnr, cond?), the seed's v-loss (or any weighted loss of the diffusion core), masked for missing
// data, gradient accumulation, non-finite-loss skipping, validation loss and ELBO, metrics, previews and
// atomic checkpoints from which a resumed run continues bit-for-bit. Every random draw comes from two saved
// generators (the trainer's for the loss noise, torch's default one for dropout) and the data order from
// (seed, epoch), so a resumed run is the uninterrupted run.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { denoiser, elbo, type Denoiser, type Schedule } from '../diffusion/index.js';
import { makeSchedule, trainingDenoiser, lossPerExample, representationTerm } from './objective.js';
import { resolvePrecision, withPrecision, type Precision } from '../models/precision.js';
import { packContext } from '../models/denoiser.js';
import {
  NonFiniteLossError, type TrainableModel, type TrainBatch, type TrainOptions,
  type TrainResult, type ValidationResult,
} from './types.js';

export * from './types.js';
export { makeSchedule, trainingDenoiser } from './objective.js';
import { parseTrainConfig, type TrainConfig } from './config.js';
import { EMA } from './ema.js';
import { saveCheckpoint, loadCheckpoint, hasCheckpoint, rankedByValidation, CheckpointError, type LoadedCheckpoint } from './checkpoint.js';
import { appendMetrics, truncateMetrics, writeLossCurve } from './metrics.js';
import { agreeAll, cutBatch } from './parallel.js';


function disposeBatch(b: TrainBatch): void {
  b.x.dispose(); b.mask?.dispose(); b.statics?.dispose(); b.date?.dispose();
}

/** The denoiser context of a batch: its static fields, and its date features when it has them. */
function batchContext(b: TrainBatch): unknown {
  return packContext({ cond: b.statics, date: b.date });
}

export class Trainer {
  /** The config, with `precision` resolved for the device (what checkpoints record). */
  readonly config: TrainConfig & { precision: Precision };
  readonly device: string;
  readonly model: TrainableModel;
  readonly optimizer: torch.optim.AdamW;
  readonly scheduler: torch.optim.LRScheduler;
  readonly ema: EMA;
  readonly schedule: Schedule;
  readonly denoiser: Denoiser;
  /** The generator of the loss noise (t and eps). */
  readonly generator: torch.Generator;
  /** Loss scaling for fp16-mixed (null otherwise): float16 gradients underflow without it. */
  readonly scaler: torch.amp.GradScaler | null;
  step = 0;
  updates = 0;
  samplesSeen = 0;
  epoch = 0;
  /** Batches of the current epoch consumed. */
  position = 0;
  nonFiniteInARow = 0;
  resumedFrom: number | null = null;
  private readonly options: TrainOptions;
  private readonly params: Tensor[];
  private iterator: AsyncIterator<TrainBatch> | null = null;
  /** How long the last checkpoint took to write (deadlines leave room for one). */
  private lastCheckpointMs = 0;
  private checkpointTimed = false;
  /** The last validation loss and its step (recorded with a checkpoint at that step). */
  private validatedAt: { step: number; loss: number } | null = null;
  /** How long the run's end (a checkpoint and the loss curve) took when it was timed for a deadline. */
  private finishMs = 0;
  private elapsedBefore = 0;
  /** Data-parallel training (options.group with more than one rank): the group, and c10d's gradient reducer. */
  readonly group: torch.distributed.ProcessGroup | null;
  private readonly reducer: torch.nn.GradientReducer | null;
  /** Rank 0 (or a single process) writes the run folder and reports. */
  readonly isMain: boolean;

  constructor(options: TrainOptions) {
    this.options = options;
    this.device = options.device ?? 'cpu';
    const parsed = parseTrainConfig(options.config);
    this.config = { ...parsed, precision: resolvePrecision(parsed.precision, this.device) };
    const cfg = this.config;
    this.model = options.model;
    this.params = this.model.parameters().filter((p) => p.requiresGrad);
    if (this.params.length === 0) throw new Error('the model has no trainable parameters');
    this.group = options.group && options.group.size > 1 ? options.group : null;
    this.isMain = (this.group?.rank ?? 0) === 0;
    if (this.group && cfg.batchSize < this.group.size) {
      throw new Error(`the batch of ${cfg.batchSize} clips is global (cut into one part per rank): it must be at least the world size ${this.group.size}`);
    }
    // every rank has built the same model (checked by the reducer) and starts from rank 0's weights; then the EMA copies them
    this.reducer = this.group ? new torch.nn.GradientReducer(this.params, this.group) : null;
    if (this.group) torch.nn.broadcastState([...this.model.parameters(), ...this.model.buffers()], this.group);
    this.optimizer = new torch.optim.AdamW(this.params, {
      lr: cfg.optimizer.lr, betas: [...cfg.optimizer.betas] as [number, number], eps: cfg.optimizer.eps, weightDecay: cfg.optimizer.weightDecay,
    });
    const ls = cfg.lrSchedule;
    this.scheduler = ls.kind === 'constant'
      ? torch.optim.linearWarmup(this.optimizer, ls.warmupSteps)
      : torch.optim.warmupCosine(this.optimizer, { warmupSteps: ls.warmupSteps, totalSteps: Math.max(ls.totalSteps ?? cfg.steps!, ls.warmupSteps), minLr: Math.min(ls.minLr, cfg.optimizer.lr) });
    this.ema = new EMA(this.model, cfg.emaDecay);
    this.schedule = makeSchedule(cfg.diffusion);
    this.denoiser = withPrecision(trainingDenoiser(this.model, cfg.diffusion), cfg.precision, this.device);
    this.scaler = cfg.precision === 'fp16-mixed' ? new torch.amp.GradScaler({ device: this.device.startsWith('cuda') ? 'cuda' : 'cpu' }) : null;
    this.generator = new torch.Generator({ seed: cfg.seed });
    if (options.resume) {
      if (!options.runDir) throw new Error('resume needs a runDir');
      if (!hasCheckpoint(options.runDir)) throw new CheckpointError(`cannot resume: no checkpoint in ${options.runDir}`);
      this.restore(loadCheckpoint(options.runDir));
    } else {
      // Same seed and config, same run: dropout draws come from the default generator, seeded here.
      torch.manualSeed(cfg.seed);
    }
  }

  private log(msg: string): void {
    if (this.options.onLog) this.options.onLog(msg); else process.stderr.write(`${msg}\n`);
  }

  /** Loads a checkpoint's weights, EMA, optimizer, schedule, RNG and data position into this trainer. */
  restore(ck: LoadedCheckpoint): void {
    // The data order and the random draws depend on these; a change would silently break bit-for-bit resumption.
    for (const k of ['seed', 'batchSize', 'gradAccumulation', 'shuffle', 'dropLast', 'loss'] as const) {
      if (JSON.stringify(ck.trainConfig[k]) !== JSON.stringify(this.config[k])) {
        throw new CheckpointError(`cannot resume from ${ck.dir}: config '${k}' is ${JSON.stringify(this.config[k])} but the checkpoint was trained with ${JSON.stringify(ck.trainConfig[k])}`);
      }
    }
    try { this.model.loadStateDict(ck.model); } catch (e) {
      throw new CheckpointError(`checkpoint ${ck.dir} does not match the model: ${(e as Error).message}`);
    }
    try { this.ema.loadStateDict(ck.ema); } catch (e) {
      throw new CheckpointError(`checkpoint ${ck.dir}: ${(e as Error).message}`);
    }
    this.optimizer.loadStateDict(ck.optimizer);
    if (ck.scheduler) this.scheduler.loadStateDict(ck.scheduler);
    if (this.scaler && ck.scaler) this.scaler.loadStateDict(ck.scaler as unknown as torch.amp.GradScalerStateDict);
    // A different precision on resume is allowed (e.g. moving to a machine with native bf16): weights and optimizer
    // state are float32 either way. It is said, since the run is then no longer bit-for-bit the uninterrupted one.
    const before = ck.trainConfig.precision;
    if (before !== 'auto' && before !== this.config.precision) this.log(`resuming a ${before} run in ${this.config.precision}`);
    this.generator.setState(ck.rng.train);
    torch.defaultGenerator.setState(ck.rng.default);
    this.step = ck.step; this.updates = ck.updates; this.samplesSeen = ck.samplesSeen;
    this.epoch = ck.data.epoch; this.position = ck.data.position; this.nonFiniteInARow = ck.nonFiniteInARow;
    this.elapsedBefore = ck.elapsedMs;
    this.resumedFrom = ck.step;
  }

  /** Writes a checkpoint of the current state into runDir; returns its folder. */
  saveCheckpoint(elapsedMs = this.elapsedBefore): string {
    const runDir = this.options.runDir;
    if (!runDir) throw new Error('saveCheckpoint needs a runDir');
    const t = Date.now();
    try {
      return this.#writeCheckpoint(runDir, elapsedMs);
    } finally {
      this.lastCheckpointMs = Date.now() - t;
      this.checkpointTimed = true;
    }
  }

  #writeCheckpoint(runDir: string, elapsedMs: number): string {
    return torch.scope(() => saveCheckpoint(runDir, {
      step: this.step, updates: this.updates, samplesSeen: this.samplesSeen, data: { epoch: this.epoch, position: this.position },
      nonFiniteInARow: this.nonFiniteInARow, trainConfig: this.config, modelConfig: this.options.modelConfig,
      diffusionConfig: this.config.diffusion, normStats: this.options.normStats,
      model: this.model.stateDict(),
      ema: this.ema.stateDict(), optimizer: this.optimizer.stateDict(), scheduler: this.scheduler.stateDict(),
      scaler: this.scaler ? this.scaler.stateDict() as Record<string, number> : null,
      rng: { train: this.generator.getState(), default: torch.defaultGenerator.getState() }, elapsedMs,
      valLoss: this.validatedAt?.step === this.step ? this.validatedAt.loss : null,
    }, { keep: this.config.keepCheckpoints, keepBest: this.config.keepBest }));
  }

  /** The next batch in (seed, epoch) order; on resume the consumed part of the epoch is skipped once. */
  private async nextBatch(): Promise<TrainBatch> {
    const cfg = this.config;
    for (;;) {
      if (this.iterator === null) {
        this.iterator = this.options.data.batches({ batchSize: cfg.batchSize, shuffle: cfg.shuffle, seed: cfg.seed, epoch: this.epoch, dropLast: cfg.dropLast, readAhead: cfg.readAhead,
          ...(this.group ? { shard: { rank: this.group.rank, count: this.group.size } } : {}) })[Symbol.asyncIterator]();
        for (let i = 0; i < this.position; i++) {
          const r = await this.iterator.next();
          if (r.done) throw new CheckpointError(`cannot resume: epoch ${this.epoch} has fewer than ${this.position} batches (did the dataset change?)`);
          disposeBatch(r.value);
        }
      }
      const r = await this.iterator.next();
      if (!r.done) {
        this.position += 1;
        const g = this.group;
        if (!g || r.value.part) return r.value;
        // a source that ignores `shard`: cut its whole batch here (a batch smaller than the world is skipped by all)
        if (r.value.x.shape[0]! < g.size) { disposeBatch(r.value); continue; }
        return cutBatch(r.value, g.rank, g.size, disposeBatch);
      }
      if (this.position === 0) throw new Error(`the training data yield no batch of ${cfg.batchSize}${cfg.dropLast ? ' (dropLast: the dataset is smaller than one batch)' : ''}`);
      this.epoch += 1; this.position = 0; this.iterator = null;
    }
  }

  /**
   * One optimizer step over gradAccumulation micro-batches; returns the loss (null when non-finite and skipped) and the
   * number of examples (of the global batch, in data-parallel training).
   */
  async trainStep(): Promise<{ loss: number | null; samples: number }> {
    const cfg = this.config;
    const micro: TrainBatch[] = [];
    for (let a = 0; a < cfg.gradAccumulation; a++) micro.push(await this.nextBatch());
    const samples = micro.reduce((s, b) => s + (b.part?.total ?? b.x.shape[0]!), 0);
    const world = this.group?.size ?? 1;
    try {
      return torch.scope(() => {
        this.model.train();
        this.optimizer.zeroGrad();
        let total = 0, finite = true;
        for (const [a, b] of micro.entries()) {
          // data-parallel: gradients are all-reduced in the last micro-batch's backward (the others accumulate locally)
          const sync = this.reducer !== null && a === micro.length - 1;
          if (sync) this.reducer!.prepareForward();
          const d = this.onDevice(b);
          const observed = cfg.maskedLoss && d.mask ? d.mask.eq(0) : undefined;
          // Examples are weighted equally across micro-batches (the mean over the effective batch); across ranks the
          // reducer averages, so each rank's sum is scaled by the world size.
          let l = lossPerExample(cfg, this.denoiser, d.x, this.schedule, observed, batchContext(d), this.generator, this.model, b.part).sum().div(samples);
          if (world > 1) l = l.mul(world);
          // every rank must agree to go on (a non-finite loss on one rank skips the step on all)
          const v = this.group ? agreeAll(this.group, [l.item() / world], 'sum')[0]! : l.item();
          if (!Number.isFinite(v)) { finite = false; break; }
          if (sync) this.reducer!.prepareBackward();
          (this.scaler ? this.scaler.scale(l) as Tensor : l).backward();
          total += v;
        }
        // fp16: gradients back at their true scale before clipping; an overflow (inf/nan gradients) is the scaler's
        // business (it skips the update and lowers the scale), not a non-finite loss.
        if (finite && this.scaler) this.scaler.unscale_(this.optimizer);
        // (data-parallel: the gradients are the global batch's on every rank, so the norm and the clipping are too)
        if (finite && cfg.gradClip !== null) {
          const norm = torch.optim.clipGradNorm(this.params, cfg.gradClip).item();
          if (!Number.isFinite(norm) && !this.scaler) finite = false;
        }
        this.step += 1;
        this.samplesSeen += samples;
        if (!finite) { this.optimizer.zeroGrad(); return { loss: null, samples }; }
        if (this.scaler) {
          const stepped = this.scaler.step(this.optimizer);
          this.scaler.update();
          if (!stepped) { this.optimizer.zeroGrad(); return { loss: total, samples }; }
        } else {
          this.optimizer.step();
        }
        this.scheduler.step();
        this.ema.update(cfg.emaWarmup ? Math.min(cfg.emaDecay, (1 + this.updates) / (10 + this.updates)) : cfg.emaDecay);
        this.optimizer.zeroGrad();
        this.updates += 1;
        return { loss: total, samples };
      });
    } finally { for (const b of micro) disposeBatch(b); }
  }

  /** A batch on the trainer's device (the same tensors on cpu; copies, freed with the step's scope, elsewhere). */
  private onDevice(b: TrainBatch): TrainBatch {
    if (this.device === 'cpu') return b;
    return { x: b.x.to(this.device), mask: b.mask?.to(this.device), statics: b.statics?.to(this.device), date: b.date?.to(this.device) };
  }

  /** Validation loss and ELBO (bits/dim) under the EMA weights; the training state is untouched. */
  async validate(): Promise<ValidationResult | null> {
    const data = this.options.validation;
    if (!data) return null;
    const cfg = this.config;
    const restore = this.ema.swapIn();
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      // Each batch has its own generator, seeded from its index the same every time: validation never touches the
      // training randomness, and the result does not depend on which rank validates which batch (data-parallel: batch
      // k on rank k mod world size, the sums reduced).
      const world = this.group?.size ?? 1, rank = this.group?.rank ?? 0;
      let lossSum = 0, bpdSum = 0, n = 0, k = 0;
      for await (const b of data.batches({ batchSize: cfg.batchSize, shuffle: false, seed: cfg.seed, epoch: 0, dropLast: false })) {
        try {
          if (k % world === rank) {
            const gen = new torch.Generator({ seed: (BigInt(cfg.seed) * 1000003n + 7919n) * 65537n + BigInt(k) });
            torch.scope(() => torch.noGrad(() => {
              const d = this.onDevice(b);
              const observed = cfg.maskedLoss && d.mask ? d.mask.eq(0) : undefined;
              const B = d.x.shape[0]!;
              const context = batchContext(d);
              lossSum += lossPerExample(cfg, this.denoiser, d.x, this.schedule, observed, context, gen, this.model).sum().item();
              if (cfg.validation.elboSteps > 0) {
                // the ELBO of the data the diffusion runs on (after a learned transform: of y, not x)
                const data = this.model.encode ? this.model.encode(d.x, observed).x : d.x;
                // a representation model: -log p(x) <= E_q L_VDM(x, w) + KL(q(w|x) || p(w)) (002 sec. 4), one w per example
                const rep = this.model.latentDim ? representationTerm({ ...cfg, klWeight: 1 }, this.model, data, observed, context, gen) : null;
                const ctx = rep ? rep.context : context;
                const den = ctx === undefined ? this.denoiser
                  : denoiser(this.denoiser.parameterisation, (z, l) => this.denoiser(z, l, ctx));
                let bpd = elbo(den, data, this.schedule, {
                  method: 'quadrature', steps: cfg.validation.elboSteps, samples: cfg.validation.elboSamples, generator: gen, mask: observed,
                }).bpd;
                if (rep) bpd = bpd.add(rep.kl.div(Math.LN2));
                bpdSum += bpd.sum().item();
              }
              n += B;
            }));
          }
        } finally { disposeBatch(b); }
        if (++k >= cfg.validation.maxBatches) break;
      }
      [lossSum, bpdSum, n] = agreeAll(this.group, [lossSum, bpdSum, n], 'sum') as [number, number, number];
      if (n === 0) throw new Error('the validation data yield no batch');
      return { step: this.step, loss: lossSum / n, bpd: cfg.validation.elboSteps > 0 ? bpdSum / n : null };
    } finally {
      restore();
      this.model.train(wasTraining);
    }
  }

  /** Runs until config.steps, config.minutes or options.untilStep. */
  async run(): Promise<TrainResult> {
    try {
      return await this.#run();
    } finally {
      // stops a read-ahead worker; the next run() continues the epoch from this.position
      const it = this.iterator;
      this.iterator = null;
      await it?.return?.(undefined);
    }
  }

  async #run(): Promise<TrainResult> {
    const cfg = this.config, o = this.options;
    // data-parallel: rank 0 alone writes the run folder and reports
    const runDir = this.isMain ? o.runDir : undefined;
    const metricsPath = runDir ? join(runDir, 'metrics.jsonl') : null;
    if (runDir) {
      mkdirSync(runDir, { recursive: true });
      if (o.resume) truncateMetrics(metricsPath!, this.step);
      else if (hasCheckpoint(runDir)) throw new CheckpointError(`${runDir} already holds a run; pass resume to continue it or choose another folder`);
    }
    const t0 = Date.now();
    const budgetMs = cfg.minutes === undefined ? Infinity : cfg.minutes * 60_000;
    const target = Math.min(cfg.steps ?? Infinity, o.untilStep ?? Infinity);
    let lastLoss: number | null = null, lastValidation: ValidationResult | null = null, checkpoint: string | null = null;
    let stopReason: TrainResult['stopReason'] = 'steps';
    // the window's rate counts training steps only (not validation, previews or checkpoints between them)
    let windowLoss = 0, windowN = 0, windowSkipped = 0, windowSamples = 0, windowSeconds = 0;
    let secPerStep: number | null = null;
    const elapsed = (): number => this.elapsedBefore + (Date.now() - t0);
    let signalReason: string | undefined;
    for (;;) {
      if (this.step >= target) { stopReason = o.untilStep !== undefined && this.step >= o.untilStep && this.step < (cfg.steps ?? Infinity) ? 'untilStep' : 'steps'; break; }
      // a turn of the event loop between steps: signal handlers (a graceful stop) run there, not inside awaits that
      // resolve at once
      await new Promise<void>((resolve) => setImmediate(resolve));
      // a step and the run's end (checkpoint and loss curve) must be done before the deadline: their recent times,
      // with a margin of half again. Data-parallel: every rank stops at the same step when any rank has to.
      const [minutes, signal, deadline] = agreeAll(this.group, [
        Date.now() - t0 >= budgetMs ? 1 : 0,
        o.signal?.aborted ? 1 : 0,
        o.deadline !== undefined && Date.now() + 1.5 * ((secPerStep ?? 0) * 1000 + Math.max(this.lastCheckpointMs, this.finishMs)) >= o.deadline ? 1 : 0,
      ], 'max');
      if (minutes) { stopReason = 'minutes'; break; }
      if (signal) { stopReason = 'signal'; signalReason = o.signal?.aborted ? String(o.signal.reason ?? 'aborted') : 'another rank was stopped'; break; }
      if (deadline) { stopReason = 'deadline'; break; }
      const ts = Date.now();
      const { loss, samples } = await this.trainStep();
      const dt = (Date.now() - ts) / 1000;
      secPerStep = secPerStep === null ? dt : 0.9 * secPerStep + 0.1 * dt;
      windowSamples += samples;
      windowSeconds += dt;
      const lr = this.optimizer.paramGroups[0]!.lr;
      if (loss === null) {
        this.nonFiniteInARow += 1; windowSkipped += 1;
        if (this.isMain) this.log(`step ${this.step}: non-finite loss, step skipped (${this.nonFiniteInARow} in a row, limit ${cfg.maxNonFiniteInARow})`);
        if (metricsPath) appendMetrics(metricsPath, { step: this.step, loss: null, skipped: 1, lr });
        if (this.nonFiniteInARow >= cfg.maxNonFiniteInARow) {
          throw new NonFiniteLossError(`training stopped at step ${this.step}: the loss was NaN or infinite for ${this.nonFiniteInARow} steps in a row ` +
            `(limit maxNonFiniteInARow = ${cfg.maxNonFiniteInARow}). Lower the learning rate, enable gradient clipping, or check the data for NaN outside the mask` +
            `${runDir ? `; the last good checkpoint in ${runDir} is unchanged` : ''}.`);
        }
      } else {
        this.nonFiniteInARow = 0; lastLoss = loss; windowLoss += loss; windowN += 1;
      }
      const remainingSteps = cfg.steps === undefined ? Infinity : cfg.steps - this.step;
      const etaSteps = Number.isFinite(remainingSteps) && secPerStep !== null ? remainingSteps * secPerStep : Infinity;
      const etaBudget = (budgetMs - (Date.now() - t0)) / 1000;
      const eta = Math.min(etaSteps, etaBudget);
      const sps = samples / Math.max(dt, 1e-9);
      // the step the run ends at: config.steps, or where the time budget is projected to end first
      const totalSteps = etaBudget < etaSteps && secPerStep !== null ? this.step + Math.max(0, Math.floor(etaBudget / secPerStep)) : cfg.steps ?? null;
      if (this.isMain) o.onProgress?.({
        step: this.step, totalSteps, loss, lr, samplesPerSecond: sps,
        etaSeconds: Number.isFinite(eta) ? Math.max(0, eta) : null, elapsedSeconds: elapsed() / 1000, skipped: loss === null,
      });
      if (this.step % cfg.logEvery === 0) {
        if (metricsPath && windowN > 0) {
          appendMetrics(metricsPath, {
            step: this.step, loss: windowLoss / windowN, lr, samples_per_s: windowSamples / Math.max(windowSeconds, 1e-9),
            skipped: windowSkipped, elapsed_s: elapsed() / 1000,
          });
        }
        windowLoss = 0; windowN = 0; windowSkipped = 0; windowSamples = 0; windowSeconds = 0;
      }
      if (cfg.validateEvery > 0 && this.step % cfg.validateEvery === 0 && o.validation) {
        lastValidation = await this.validate();
        if (lastValidation) {
          this.validatedAt = { step: this.step, loss: lastValidation.loss };
          // a new best is written now (unless a checkpoint follows at this step anyway), so `best` is on disk
          const best = runDir ? rankedByValidation(runDir)[0] : undefined;
          const checkpointNow = cfg.checkpointEvery > 0 && this.step % cfg.checkpointEvery === 0;
          if (runDir && cfg.keepBest > 0 && !checkpointNow && Number.isFinite(lastValidation.loss) && (!best || lastValidation.loss < best.valLoss)) {
            checkpoint = this.saveCheckpoint(elapsed());
          }
          if (this.isMain) o.onValidation?.(lastValidation);
          if (metricsPath) {
            appendMetrics(metricsPath, { step: this.step, val_loss: lastValidation.loss, ...(lastValidation.bpd === null ? {} : { bpd: lastValidation.bpd }) });
            await writeLossCurve(metricsPath, join(runDir!, 'loss_curve.svg'), join(runDir!, 'loss_curve.png'));
          }
        }
      }
      if (this.isMain && cfg.previewEvery > 0 && this.step % cfg.previewEvery === 0 && o.preview) {
        const restore = this.ema.swapIn();
        const wasTraining = this.model.training;
        this.model.eval();
        try { await o.preview({ step: this.step, runDir, model: this.model, denoiser: this.denoiser, schedule: this.schedule,
          samples: cfg.previewSamples, steps: cfg.previewSteps }); } finally {
          restore(); this.model.train(wasTraining);
        }
      }
      if (runDir && cfg.checkpointEvery > 0 && this.step % cfg.checkpointEvery === 0) checkpoint = this.saveCheckpoint(elapsed());
      // with a deadline, the first step is checkpointed at once: the deadline then knows what a checkpoint costs
      else if (runDir && o.deadline !== undefined && !this.checkpointTimed) {
        const t = Date.now();
        checkpoint = this.saveCheckpoint(elapsed());
        await writeLossCurve(metricsPath!, join(runDir, 'loss_curve.svg'), join(runDir, 'loss_curve.png'));
        this.finishMs = Date.now() - t;
      }
    }
    if (runDir) {
      checkpoint = this.saveCheckpoint(elapsed());
      await writeLossCurve(metricsPath!, join(runDir, 'loss_curve.svg'), join(runDir, 'loss_curve.png'));
    }
    // every rank returns once rank 0's last checkpoint is on disk
    this.group?.barrier();
    return {
      step: this.step, updates: this.updates, lastLoss, stopReason, lastValidation, checkpoint, resumedFrom: this.resumedFrom,
      ...(stopReason === 'signal' ? { signalReason: signalReason ?? 'aborted' } : {}),
    };
  }
}

/** Builds a Trainer (resuming when options.resume) and runs it. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  return new Trainer(options).run();
}
