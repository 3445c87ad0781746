// `npm run bench -w climadiff` (part of `npm run bench`): the demo-sized space-time U-Net side by side with its
// PyTorch twin (interop/pytorch/unet3d.py on the reference python's PyTorch, torch.backends.referencePython(): the
// same libtorch engine) at the same thread count, with the same weights, the same inputs and the same training
// step, in each precision (fp32; bf16-mixed: the forward under bf16 autocast, the loss in float32). Each side runs
// in its own fresh process (so peak RSS is that side's alone); the sides alternate, round after round, and each
// figure is the median over the rounds of each process's fastest repetition. Optionally PyTorch with
// torch.compile as a reference figure (one round: compiling takes minutes). Prints one JSON object;
// docs/benchmarks.md holds a measured table.
//
//   node dist/bench/unet.js [--rounds N] [--threads T] [--steps S] [--precisions fp32,bf16-mixed] [--device D] [--compile 1]
//   node dist/bench/unet.js --worker JOB.json                           one side (ours), used by the above
// Default precisions: fp32, plus bf16-mixed where the hardware computes bf16 natively (AVX512-BF16/AMX or CUDA):
// elsewhere bf16 is emulated and 50-100x slower on both sides (see docs/benchmarks.md), so it is skipped with that
// reason unless asked for.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { UNet3D, unet3dConfig, defaultPrecision, inPrecision, type Precision, type UNet3DConfig } from '../src/models/index.js';

/** What both sides run; written to JOB.json by the orchestrator. */
interface Job {
  config: UNet3DConfig;
  weights: string;
  threads: number;
  frames: number;
  height: number;
  width: number;
  evalBatches: number[];
  /** Repetitions per evaluation batch size (the fastest counts). */
  evalRepeats: Record<string, number>;
  trainBatch: number;
  trainSteps: number;
  seed: number;
  precision: Precision;
  device: string;
  /** PyTorch side only: torch.compile the model. */
  compile?: boolean;
}

/** One side's measurements. */
interface SideResult {
  eval_ms: Record<string, number>;
  guided_ms: Record<string, number>;
  train_step_ms: number;
  train_losses: number[];
  max_rss_mb: number;
  max_gpu_mb?: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const LOGSNR_MIN = -20;
const LOGSNR_MAX = 20;

/** Our side: the same computations as bench/unet_reference.py, line for line. */
function worker(job: Job): SideResult {
  torch.setNumThreads(job.threads);
  const dev = job.device;
  const sync = dev.startsWith('cuda') ? () => torch.cuda.synchronize() : () => {};
  const bestMs = (fn: () => void, repeats: number): number => {
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      torch.scope(fn);
      sync();
      best = Math.min(best, performance.now() - t);
    }
    return best;
  };
  const model = new UNet3D(job.config);
  model.loadStateDict(torch.load(job.weights));
  if (dev !== 'cpu') model.to(dev);
  const { frames: f, height: h, width: w } = job;
  const C = job.config.inChannels;
  const amp = <T>(fn: () => T): T => inPrecision(job.precision, dev, fn);

  const evalMs: Record<string, number> = {};
  model.eval();
  for (const b of job.evalBatches) {
    torch.manualSeed(job.seed);
    const x = torch.randn([b, C, f, h, w]).to(dev).keep();
    const ls = torch.linspace(-5, 5, b).to(dev).keep();
    const run = () => torch.noGrad(() => { amp(() => model.forward(x, ls)); });
    torch.scope(run);
    evalMs[`batch${b}`] = bestMs(run, job.evalRepeats[String(b)]!);
    x.dispose(); ls.dispose();
  }
  // A guided evaluation (reconstruction guidance, diffusion/guidance.ts): the forward pass with a graph, then the
  // gradient of the known half's sum of squared errors with respect to the input z_t.
  const guidedMs: Record<string, number> = {};
  for (const b of job.evalBatches) {
    torch.manualSeed(job.seed);
    const x = torch.randn([b, C, f, h, w]).to(dev).keep();
    const ls = torch.linspace(-5, 5, b).to(dev).keep();
    const known = torch.randn([b, C, f / 2, h, w]).to(dev).keep();
    const run = () => {
      const z = x.detach().requiresGrad_(true);
      const out = amp(() => model.forward(z, ls)).float();
      const loss = out.narrow(2, 0, f / 2).sub(known).square().sum();
      torch.autograd.grad([loss], [z]);
    };
    torch.scope(run);
    guidedMs[`batch${b}`] = bestMs(run, job.evalRepeats[String(b)]!);
    x.dispose(); ls.dispose(); known.dispose();
  }

  // Training step: the seed's v-loss (eqs. 2.71-2.72) with t ~ U(0, 1) on the truncated cosine schedule
  // (eqs. 2.64-2.69), AdamW, gradient clipping at 1, EMA 0.99.
  model.train();
  torch.manualSeed(job.seed);
  const data = torch.randn([job.trainBatch, C, f, h, w]).to(dev).keep();
  const params = model.parameters();
  const opt = new torch.optim.AdamW(params, { lr: 3e-4, weightDecay: 0.01 });
  const ema = torch.noGrad(() => params.map((p) => p.detach().clone().keep()));
  const tMin = Math.atan(Math.exp(-LOGSNR_MAX / 2));
  const tMax = Math.atan(Math.exp(-LOGSNR_MIN / 2));
  const losses: number[] = [];
  const step = () => {
    const t = torch.rand([job.trainBatch]).to(dev);
    const logsnr = t.mul(tMax - tMin).add(tMin).tan().log().mul(-2);
    const eps = torch.randn(data.shape).to(dev);
    const alpha = logsnr.sigmoid().sqrt().view([-1, 1, 1, 1, 1]);
    const sigma = logsnr.neg().sigmoid().sqrt().view([-1, 1, 1, 1, 1]);
    const z = alpha.mul(data).add(sigma.mul(eps));
    const v = alpha.mul(eps).sub(sigma.mul(data));
    const out = amp(() => model.forward(z, logsnr));
    const loss = out.float().sub(v).square().mean();
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
    sync();
    trainMs = Math.min(trainMs, performance.now() - t0);
  }
  return {
    eval_ms: evalMs, guided_ms: guidedMs, train_step_ms: trainMs, train_losses: losses, max_rss_mb: process.resourceUsage().maxRSS / 1024,
    ...(dev.startsWith('cuda') ? { max_gpu_mb: torch.cuda.maxMemoryAllocated() / 2 ** 20 } : {}),
  };
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    if (!k.startsWith('--') || argv[i + 1] === undefined) {
      throw new Error(`usage: unet.js [--rounds N] [--threads T] [--steps S] [--precisions fp32,bf16-mixed] [--device D] [--compile 1] | --worker JOB.json (bad argument ${k})`);
    }
    out[k.slice(2)] = argv[i + 1]!;
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function orchestrate(args: Record<string, string>): void {
  const threads = Number(args.threads ?? process.env.BENCH_THREADS ?? 2);
  const rounds = Number(args.rounds ?? 5);
  const device = args.device ?? 'cpu';
  const nativeBf16 = defaultPrecision(device) === 'bf16-mixed';
  const precisions = (args.precisions ? args.precisions.split(',') : nativeBf16 ? ['fp32', 'bf16-mixed'] : ['fp32']) as Precision[];
  for (const p of precisions) if (p !== 'fp32' && p !== 'bf16-mixed') throw new Error(`--precisions: fp32 and/or bf16-mixed, got ${p}`);
  const python = torch.backends.referencePython();
  if (!python) throw new Error('no reference python recorded (torch.backends.engine().python): run scripts/bootstrap');
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-unet-bench-'));
  try {
    const config = unet3dConfig({ inChannels: 1, channels: 32, channelMults: [1, 2, 2], attentionLevels: [2], numResBlocks: 1 });
    torch.manualSeed(0);
    const model = new UNet3D(config);
    // Random weights everywhere (the zero-initialised output layers would make the backward pass trivial).
    torch.noGrad(() => { for (const p of model.parameters()) p.copy_(torch.randnLike(p).mul(0.05)); });
    const sd: Record<string, Tensor> = model.stateDict();
    const weights = join(dir, 'weights.safetensors');
    torch.save(sd, weights);
    const base = {
      config, weights, threads, frames: 8, height: 32, width: 64, evalBatches: [1, 8], evalRepeats: { 1: 9, 8: 4 },
      trainBatch: 4, trainSteps: Number(args.steps ?? 5), seed: 1, device,
    };
    const jobFile = (name: string, job: Job): string => {
      const p = join(dir, `${name}.json`);
      writeFileSync(p, JSON.stringify(job));
      return p;
    };
    const ours = (job: string) => execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--worker', job], { encoding: 'utf8' });
    const pytorch = (job: string) => execFileSync(python, [join(here, '..', '..', 'bench', 'unet_reference.py'), job], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const parse = (out: string): SideResult => JSON.parse(out.trim().split('\n').pop()!) as SideResult;
    const runs: Record<string, { ours: SideResult[]; pytorch: SideResult[] }> = {};
    for (const p of precisions) runs[p] = { ours: [], pytorch: [] };
    for (let r = 0; r < rounds; r++) {
      for (const p of precisions) {
        const job = jobFile(p, { ...base, precision: p });
        for (const side of ['ours', 'pytorch'] as const) {
          process.stderr.write(`[bench] round ${r + 1}/${rounds}, ${p}: ${side}...\n`);
          runs[p]![side].push(parse(side === 'ours' ? ours(job) : pytorch(job)));
        }
      }
    }
    const compiled: Record<string, SideResult | { error: string }> = {};
    if (args.compile === '1') {
      for (const p of precisions) {
        process.stderr.write(`[bench] PyTorch + torch.compile, ${p} (compiling takes minutes)...\n`);
        try { compiled[p] = parse(pytorch(jobFile(`${p}-compile`, { ...base, precision: p, compile: true }))); } catch (e) {
          compiled[p] = { error: (e as Error).message.split('\n').slice(0, 3).join(' ') };
        }
      }
    }
    const med = (rs: SideResult[]) => ({
      eval_ms: Object.fromEntries(Object.keys(rs[0]!.eval_ms).map((k) => [k, median(rs.map((r) => r.eval_ms[k]!))])),
      guided_ms: Object.fromEntries(Object.keys(rs[0]!.guided_ms).map((k) => [k, median(rs.map((r) => r.guided_ms[k]!))])),
      train_step_ms: median(rs.map((r) => r.train_step_ms)),
      max_rss_mb: median(rs.map((r) => r.max_rss_mb)),
      ...(rs[0]!.max_gpu_mb !== undefined ? { max_gpu_mb: median(rs.map((r) => r.max_gpu_mb!)) } : {}),
      train_losses: rs[0]!.train_losses,
    });
    const shape = (b: number) => [b, 1, base.frames, base.height, base.width];
    const gflops = (flops: number, ms: number) => +(flops / (ms / 1e3) / 1e9).toFixed(1);
    // a training step: forward plus a backward that costs two forwards (input and weight gradients)
    const trainFlops = 3 * model.flops(shape(base.trainBatch));
    const summarise = (s: ReturnType<typeof med>) => ({
      ...Object.fromEntries(base.evalBatches.map((b) => [`eval_batch${b}_ms`, +s.eval_ms[`batch${b}`]!.toFixed(1)])),
      ...Object.fromEntries(base.evalBatches.map((b) => [`eval_batch${b}_gflops`, gflops(model.flops(shape(b)), s.eval_ms[`batch${b}`]!)])),
      ...Object.fromEntries(base.evalBatches.map((b) => [`guided_batch${b}_ms`, +s.guided_ms[`batch${b}`]!.toFixed(1)])),
      // what guidance costs over a plain evaluation (forward + backward to the input against a forward)
      ...Object.fromEntries(base.evalBatches.map((b) => [`guided_over_eval_batch${b}`, +(s.guided_ms[`batch${b}`]! / s.eval_ms[`batch${b}`]!).toFixed(2)])),
      train_step_ms: +s.train_step_ms.toFixed(1),
      train_samples_per_s: +(base.trainBatch / (s.train_step_ms / 1e3)).toFixed(2),
      train_gflops: gflops(trainFlops, s.train_step_ms),
      max_rss_mb: +s.max_rss_mb.toFixed(0),
      ...(s.max_gpu_mb !== undefined ? { max_gpu_mb: +s.max_gpu_mb.toFixed(0) } : {}),
    });
    const ratios = (o: ReturnType<typeof med>, p: ReturnType<typeof med>) => ({
      ...Object.fromEntries(base.evalBatches.map((b) => [`eval_batch${b}_time`, +(o.eval_ms[`batch${b}`]! / p.eval_ms[`batch${b}`]!).toFixed(3)])),
      ...Object.fromEntries(base.evalBatches.map((b) => [`guided_batch${b}_time`, +(o.guided_ms[`batch${b}`]! / p.guided_ms[`batch${b}`]!).toFixed(3)])),
      train_step_time: +(o.train_step_ms / p.train_step_ms).toFixed(3),
      max_rss: +(o.max_rss_mb / p.max_rss_mb).toFixed(3),
      ...(o.max_gpu_mb !== undefined && p.max_gpu_mb ? { max_gpu_memory: +(o.max_gpu_mb / p.max_gpu_mb).toFixed(3) } : {}),
    });
    const byPrecision: Record<string, unknown> = {};
    for (const p of precisions) {
      const o = med(runs[p]!.ours);
      const q = med(runs[p]!.pytorch);
      const maxLossDiff = Math.max(...o.train_losses.map((l, i) => Math.abs(l - q.train_losses[i]!) / Math.abs(q.train_losses[i]!)));
      const c = compiled[p];
      byPrecision[p] = {
        ours: summarise(o), pytorch: summarise(q), ratio_ours_over_pytorch: ratios(o, q),
        ...(c === undefined ? {} : 'error' in c ? { pytorch_compile: c } : {
          pytorch_compile: summarise(med([c])),
          ratio_ours_over_pytorch_compile: ratios(o, med([c])),
        }),
        // Same engine, same weights, inputs and random draws: in fp32 the losses agree to float32 rounding; under bf16
        // autocast to bf16 rounding (both sides cast by the same libtorch rules).
        same_computation: { train_losses_max_relative_difference: +maxLossDiff.toExponential(2) },
      };
    }
    const skipped = precisions.includes('bf16-mixed') ? undefined
      : `bf16-mixed: this ${device === 'cpu' ? `CPU (${torch.backends.cpu.capability()})` : 'device'} has no native bf16; libtorch emulates it (bf16 convolutions leave oneDNN) in PyTorch as in climadiff; --precisions fp32,bf16-mixed forces it`;
    console.log(JSON.stringify({
      workload: {
        model: 'UNet3D channels 32, multipliers 1-2-2, 1 residual block per level, spatial attention at level 2, temporal attention everywhere',
        parameters: model.parameterCount(), input: `[batch, 1, ${base.frames}, ${base.height}, ${base.width}]`,
        forward_gflop_per_sample: +(model.flops(shape(1)) / 1e9).toFixed(3), train_batch: base.trainBatch,
        train_step: 'v-loss, t ~ U(0,1) on the truncated cosine schedule, backward, clip 1.0, AdamW, EMA',
        threads, rounds, statistic: 'median over rounds of each process\'s fastest repetition', device,
        engine: torch.backends.engine().version, cpu: torch.backends.cpu.capability(),
      },
      ...byPrecision,
      ...(skipped ? { skipped } : {}),
    }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.worker) process.stdout.write(JSON.stringify(worker(JSON.parse(readFileSync(args.worker, 'utf8')) as Job)));
else orchestrate(args);
