// `npm run bench -w climadiff` (part of `npm run bench`): the demo-sized space-time U-Net side by side with its
// PyTorch twin (interop/pytorch/unet3d.py on the reference python's PyTorch, the same libtorch engine) at the same
// thread count, with the same weights, the same inputs and the same training step. Each side runs in its own
// fresh process (so peak RSS is that side's alone); the sides alternate and each figure is the best of the
// rounds. Prints one JSON object; docs/benchmarks.md holds a measured table.
//
//   node dist/bench/unet.js [--rounds N] [--threads T] [--steps S]      the comparison
//   node dist/bench/unet.js --worker JOB.json                           one side (ours), used by the above
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { UNet3D, unet3dConfig, type UNet3DConfig } from '../src/models/index.js';

/** What both sides run; written to JOB.json by the orchestrator. */
interface Job {
  config: UNet3DConfig;
  weights: string;
  threads: number;
  frames: number;
  height: number;
  width: number;
  evalBatches: number[];
  trainBatch: number;
  trainSteps: number;
  seed: number;
}

/** One side's measurements. */
interface SideResult {
  eval_ms: Record<string, number>;
  train_step_ms: number;
  train_losses: number[];
  max_rss_mb: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const LOGSNR_MIN = -20;
const LOGSNR_MAX = 20;

/** Best mean time per call in ms over `repeats` runs of `inner` calls. */
function bestMs(fn: () => void, repeats: number, inner: number): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) torch.scope(fn);
    best = Math.min(best, (performance.now() - t) / inner);
  }
  return best;
}

/** Our side: the same computations as bench/unet_reference.py, line for line. */
function worker(job: Job): SideResult {
  torch.setNumThreads(job.threads);
  const model = new UNet3D(job.config);
  model.loadStateDict(torch.load(job.weights));
  const { frames: f, height: h, width: w } = job;
  const C = job.config.inChannels;

  const evalMs: Record<string, number> = {};
  model.eval();
  for (const b of job.evalBatches) {
    torch.manualSeed(job.seed);
    const x = torch.randn([b, C, f, h, w]).keep();
    const ls = torch.linspace(-5, 5, b).keep();
    const run = () => torch.noGrad(() => { model.forward(x, ls); });
    torch.scope(run);
    evalMs[`batch${b}`] = bestMs(run, b === 1 ? 9 : 4, 1);
    x.dispose(); ls.dispose();
  }

  // Training step: the seed's v-loss (eqs. 2.71-2.72) with t ~ U(0, 1) on the truncated cosine schedule
  // (eqs. 2.64-2.69), AdamW, gradient clipping at 1, EMA 0.99.
  model.train();
  torch.manualSeed(job.seed);
  const data = torch.randn([job.trainBatch, C, f, h, w]).keep();
  const params = model.parameters();
  const opt = new torch.optim.AdamW(params, { lr: 3e-4, weightDecay: 0.01 });
  const ema = torch.noGrad(() => params.map((p) => p.detach().clone().keep()));
  const tMin = Math.atan(Math.exp(-LOGSNR_MAX / 2));
  const tMax = Math.atan(Math.exp(-LOGSNR_MIN / 2));
  const losses: number[] = [];
  const step = () => {
    const t = torch.rand([job.trainBatch]);
    const logsnr = t.mul(tMax - tMin).add(tMin).tan().log().mul(-2);
    const eps = torch.randnLike(data);
    const alpha = logsnr.sigmoid().sqrt().view([-1, 1, 1, 1, 1]);
    const sigma = logsnr.neg().sigmoid().sqrt().view([-1, 1, 1, 1, 1]);
    const z = alpha.mul(data).add(sigma.mul(eps));
    const v = alpha.mul(eps).sub(sigma.mul(data));
    const loss = model.forward(z, logsnr).sub(v).square().mean();
    loss.backward();
    torch.optim.clipGradNorm(params, 1.0);
    opt.step();
    opt.zeroGrad();
    torch.noGrad(() => { params.forEach((p, i) => ema[i]!.lerp_(p.detach(), 0.01)); });
    losses.push(loss.item());
  };
  torch.scope(step);
  let trainMs = Infinity; // the fastest step: on a shared machine, noise only ever adds time
  for (let i = 0; i < job.trainSteps; i++) {
    const t0 = performance.now();
    torch.scope(step);
    trainMs = Math.min(trainMs, performance.now() - t0);
  }
  return { eval_ms: evalMs, train_step_ms: trainMs, train_losses: losses, max_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    if (!k.startsWith('--') || argv[i + 1] === undefined) throw new Error(`usage: unet.js [--rounds N] [--threads T] [--steps S] | --worker JOB.json (bad argument ${k})`);
    out[k.slice(2)] = argv[i + 1]!;
  }
  return out;
}

function orchestrate(args: Record<string, string>): void {
  const threads = Number(args.threads ?? process.env.BENCH_THREADS ?? 2);
  const rounds = Number(args.rounds ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-unet-bench-'));
  try {
    const config = unet3dConfig({ inChannels: 1, channels: 32, channelMults: [1, 2, 2], attentionLevels: [2], numResBlocks: 1 });
    torch.manualSeed(0);
    const model = new UNet3D(config);
    // Random weights everywhere (the zero-initialised output layers would make the backward pass trivial).
    torch.noGrad(() => { for (const p of model.parameters()) p.copy_(torch.randnLike(p).mul(0.05)); });
    const sd: Record<string, Tensor> = model.stateDict();
    const job: Job = {
      config, weights: join(dir, 'weights.safetensors'), threads, frames: 8, height: 32, width: 64,
      evalBatches: [1, 8], trainBatch: 4, trainSteps: Number(args.steps ?? 5), seed: 1,
    };
    torch.save(sd, job.weights);
    const jobPath = join(dir, 'job.json');
    writeFileSync(jobPath, JSON.stringify(job));
    const env = process.env;
    const python = torch.backends.referencePython();
    if (!python) throw new Error('no reference python recorded (torch.backends.engine().python): run scripts/bootstrap');
    const sides = {
      ours: () => execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--worker', jobPath], { encoding: 'utf8', env }),
      pytorch: () => execFileSync(python, [join(here, '..', '..', 'bench', 'unet_reference.py'), jobPath], { encoding: 'utf8', env }),
    };
    const runs: Record<'ours' | 'pytorch', SideResult[]> = { ours: [], pytorch: [] };
    for (let r = 0; r < rounds; r++) {
      for (const side of ['ours', 'pytorch'] as const) {
        process.stderr.write(`[bench] round ${r + 1}/${rounds}: ${side}...\n`);
        runs[side].push(JSON.parse(sides[side]()) as SideResult);
      }
    }
    const best = (rs: SideResult[]) => ({
      eval_ms: Object.fromEntries(Object.keys(rs[0]!.eval_ms).map((k) => [k, Math.min(...rs.map((r) => r.eval_ms[k]!))])),
      train_step_ms: Math.min(...rs.map((r) => r.train_step_ms)),
      max_rss_mb: Math.min(...rs.map((r) => r.max_rss_mb)),
      train_losses: rs[0]!.train_losses,
    });
    const o = best(runs.ours);
    const p = best(runs.pytorch);
    const shape = (b: number) => [b, 1, job.frames, job.height, job.width];
    const gflops = (flops: number, ms: number) => +(flops / (ms / 1e3) / 1e9).toFixed(1);
    // a training step: forward plus a backward that costs two forwards (input and weight gradients)
    const trainFlops = 3 * model.flops(shape(job.trainBatch));
    const summarise = (s: ReturnType<typeof best>) => ({
      ...Object.fromEntries(job.evalBatches.map((b) => [`eval_batch${b}_ms`, +s.eval_ms[`batch${b}`]!.toFixed(1)])),
      ...Object.fromEntries(job.evalBatches.map((b) => [`eval_batch${b}_gflops`, gflops(model.flops(shape(b)), s.eval_ms[`batch${b}`]!)])),
      train_step_ms: +s.train_step_ms.toFixed(1),
      train_samples_per_s: +(job.trainBatch / (s.train_step_ms / 1e3)).toFixed(2),
      train_gflops: gflops(trainFlops, s.train_step_ms),
      max_rss_mb: +s.max_rss_mb.toFixed(0),
    });
    const so = summarise(o);
    const sp = summarise(p);
    const maxLossDiff = Math.max(...o.train_losses.map((l, i) => Math.abs(l - p.train_losses[i]!) / Math.abs(p.train_losses[i]!)));
    console.log(JSON.stringify({
      workload: {
        model: 'UNet3D channels 32, multipliers 1-2-2, 1 residual block per level, spatial attention at level 2, temporal attention everywhere',
        parameters: model.parameterCount(), input: `[batch, 1, ${job.frames}, ${job.height}, ${job.width}]`,
        forward_gflop_per_sample: +(model.flops(shape(1)) / 1e9).toFixed(3), train_batch: job.trainBatch,
        train_step: 'v-loss, t ~ U(0,1) on the truncated cosine schedule, backward, clip 1.0, AdamW, EMA', threads, rounds,
      },
      ours: so, pytorch: sp,
      ratio_ours_over_pytorch: {
        ...Object.fromEntries(job.evalBatches.map((b) => [`eval_batch${b}_time`, +(o.eval_ms[`batch${b}`]! / p.eval_ms[`batch${b}`]!).toFixed(3)])),
        train_step_time: +(o.train_step_ms / p.train_step_ms).toFixed(3),
        max_rss: +(o.max_rss_mb / p.max_rss_mb).toFixed(3),
      },
      same_computation: { train_losses_max_relative_difference: +maxLossDiff.toExponential(2) },
    }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.worker) process.stdout.write(JSON.stringify(worker(JSON.parse(readFileSync(args.worker, 'utf8')) as Job)));
else orchestrate(args);
