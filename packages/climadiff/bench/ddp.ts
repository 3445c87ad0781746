// `node dist/bench/ddp.js`: data-parallel training of the demo-sized U-Net, side by side with PyTorch's
// DistributedDataParallel on its twin (interop/pytorch/unet3d.py, the same libtorch), same weights, Gloo on loopback.
//   - the gradient all-reduce alone: a float32 buffer of the model's gradient size, all-reduced by 2 ranks (time, and
//     bus bandwidth 2(W-1)/W x bytes / time as nccl-tests count it);
//   - a DDP training step (forward, backward with the bucketed all-reduce, AdamW) at 2 ranks x 1 thread x batch 2;
//   - our single process at 1 x 2 threads x batch 4 (the same global batch): what data parallelism buys on one machine.
// Each figure is the median over rounds of each run's fastest repetition; prints one JSON object (docs/benchmarks.md).
//   node dist/bench/ddp.js [--rounds N] [--steps S]
//   node dist/bench/ddp.js --worker JOB.json          one rank of ours (RANK, WORLD_SIZE, MASTER_* in the environment)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@climadiff/torch';
import type { Tensor } from '@climadiff/torch';
import { UNet3D, unet3dConfig, type UNet3DConfig } from '../src/models/index.js';

interface Job { config: UNet3DConfig; weights: string; threads: number; batch: number; steps: number; allreduceRepeats: number; frames: number; height: number; width: number }
interface Side { allreduce_ms: number | null; step_ms: number; params: number }

const here = dirname(fileURLToPath(import.meta.url));

function worker(job: Job): Side {
  torch.setNumThreads(job.threads);
  const env = torch.distributed.launchEnvironment();
  const group = env.worldSize > 1 ? torch.distributed.initProcessGroup({ timeoutMs: 600_000 }) : null;
  const model = new UNet3D(job.config);
  model.loadStateDict(torch.load(job.weights));
  const params = model.parameters();
  const n = params.reduce((s, p) => s + p.numel(), 0);
  let allreduce: number | null = null;
  if (group) {
    const buf = torch.ones([n]).keep();
    for (let r = 0; r < job.allreduceRepeats; r++) {
      group.barrier();
      const t = performance.now();
      group.allReduce(buf);
      const ms = performance.now() - t;
      if (r > 0) allreduce = Math.min(allreduce ?? Infinity, ms);
    }
  }
  const ddp = group ? new torch.nn.DistributedDataParallel(model, { group }) : null;
  const opt = new torch.optim.AdamW(params, { lr: 1e-4 });
  torch.manualSeed(1 + (group?.rank ?? 0));
  const C = job.config.inChannels;
  const x = torch.randn([job.batch, C, job.frames, job.height, job.width]).keep();
  const logsnr = torch.linspace(-5, 5, job.batch).keep();
  let best = Infinity;
  for (let s = 0; s < job.steps; s++) {
    group?.barrier();
    const t = performance.now();
    torch.scope(() => {
      const out = (ddp ? ddp.forward(x as never, logsnr as never) : model.forward(x, logsnr)) as Tensor;
      out.sub(x).square().mean().backward();
      opt.step();
      opt.zeroGrad();
    });
    if (s > 0) best = Math.min(best, performance.now() - t);
  }
  if (group) torch.distributed.destroyProcessGroup();
  return { allreduce_ms: allreduce, step_ms: best, params: n };
}

function runRanks(cmd: string, args: string[], world: number, port: number): Promise<Side> {
  return Promise.all(Array.from({ length: world }, (_, rank) => new Promise<string>((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} rank ${rank} exited with ${code}`))));
  }))).then((outs) => JSON.parse(outs[0]!.trim().split('\n').pop()!) as Side);
}

const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

async function main(argv: string[]): Promise<void> {
  const arg = (name: string, d: number) => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : d; };
  const rounds = arg('--rounds', 3), steps = arg('--steps', 4);
  const python = torch.backends.referencePython();
  if (!python) throw new Error('no reference python recorded (torch.backends.engine().python): run scripts/bootstrap');
  const dir = mkdtempSync(join(tmpdir(), 'climadiff-ddp-bench-'));
  try {
    const config = unet3dConfig({ inChannels: 1, channels: 32, channelMults: [1, 2, 2], attentionLevels: [2], numResBlocks: 1 });
    torch.manualSeed(0);
    const model = new UNet3D(config);
    torch.noGrad(() => { for (const p of model.parameters()) p.copy_(torch.randnLike(p).mul(0.05)); });
    const weights = join(dir, 'weights.safetensors');
    torch.save(model.stateDict(), weights);
    const base = { config, weights, steps, allreduceRepeats: 12, frames: 8, height: 32, width: 64 };
    const jobFile = (name: string, job: Job) => { const p = join(dir, `${name}.json`); writeFileSync(p, JSON.stringify(job)); return p; };
    const dpJob = jobFile('dp', { ...base, threads: 1, batch: 2 });
    const oneJob = jobFile('one', { ...base, threads: 2, batch: 4 });
    const ours: Side[] = [], theirs: Side[] = [], single: Side[] = [];
    for (let r = 0; r < rounds; r++) {
      ours.push(await runRanks(process.execPath, [fileURLToPath(import.meta.url), '--worker', dpJob], 2, await torch.distributed.freePort()));
      theirs.push(await runRanks(python, [join(here, '..', '..', 'bench', 'ddp_reference.py'), dpJob], 2, await torch.distributed.freePort()));
      single.push(await runRanks(process.execPath, [fileURLToPath(import.meta.url), '--worker', oneJob], 1, await torch.distributed.freePort()));
    }
    const o = { allreduce_ms: median(ours.map((s) => s.allreduce_ms!)), step_ms: median(ours.map((s) => s.step_ms)) };
    const t = { allreduce_ms: median(theirs.map((s) => s.allreduce_ms!)), step_ms: median(theirs.map((s) => s.step_ms)) };
    const bytes = ours[0]!.params * 4;
    const busGBs = (ms: number) => (2 * (2 - 1) / 2) * bytes / (ms / 1000) / 1e9;
    process.stdout.write(`${JSON.stringify({
      bench: 'ddp', world: 2, backend: 'gloo (loopback)', params: ours[0]!.params, gradient_mb: bytes / 2 ** 20, rounds, steps,
      climadiff: { ...o, allreduce_bus_gb_s: busGBs(o.allreduce_ms) }, pytorch: { ...t, allreduce_bus_gb_s: busGBs(t.allreduce_ms) },
      ratio_allreduce: o.allreduce_ms / t.allreduce_ms, ratio_ddp_step: o.step_ms / t.step_ms,
      single_1x2_threads_batch4_step_ms: median(single.map((s) => s.step_ms)),
      ratio_2x1_over_1x2: o.step_ms / median(single.map((s) => s.step_ms)),
    })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--worker') {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.stringify(worker(JSON.parse(readFileSync(argv[1]!, 'utf8')) as Job))}\n`);
} else {
  await main(argv);
}
