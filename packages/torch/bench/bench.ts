// `npm run bench -w @climadiff/torch`: side-by-side with PyTorch (the reference python's PyTorch, the
// same libtorch engine) at the same thread count. Prints JSON; docs/benchmarks.md holds a measured table.
//   (a) per-call overhead of a 4-element add, (b) conv3d 4x32x8x32x32 (1x3x3) forward+backward,
//   (c) a 20-step training loop of a small 3D conv net.
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/index.js';

const threads = Number(process.env.BENCH_THREADS ?? 2);
torch.setNumThreads(threads);

/** Best time per call in seconds; calls run in scopes of at most 1,000 (as a training step would). */
function bestOf(fn: () => void, repeats: number, inner: number): number {
  let best = Infinity;
  const chunk = Math.min(inner, 1000);
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    for (let done = 0; done < inner; done += chunk) torch.scope(() => { for (let i = 0; i < chunk; i++) fn(); });
    best = Math.min(best, (performance.now() - t) / 1e3 / inner);
  }
  return best;
}

const ours: Record<string, number> = {};

// (a) per-call overhead: torch.add on 4 elements (method form, with overload resolution, and the
// resolved overload called directly)
const a = torch.ones([4]).keep(), b = torch.ones([4]).keep();
ours.add4_us = bestOf(() => { torch.add(a, b); }, 9, 100000) * 1e6;
ours.add4_direct_us = bestOf(() => { torch.aten.add.Tensor(a, b); }, 9, 100000) * 1e6;
ours.add4_unscoped_us = (() => {
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < 100000; i++) torch.add(a, b);
    best = Math.min(best, (performance.now() - t) / 1e3 / 100000);
  }
  return best * 1e6;
})();

// (b) conv3d forward + backward
torch.manualSeed(0);
const x = torch.randn([4, 32, 8, 32, 32], { requiresGrad: true }).keep();
const w = torch.randn([32, 32, 1, 3, 3], { requiresGrad: true }).keep();
const bias = torch.zeros([32], { requiresGrad: true }).keep();
const convStep = () => {
  const y = torch.aten.conv3d(x, w, bias, 1, [0, 1, 1]);
  y.backward(torch.onesLike(y));
};
for (let i = 0; i < 3; i++) torch.scope(convStep);
ours.conv3d_ms = bestOf(convStep, 9, 5) * 1e3;
// forward 2*N*Cout*D*H*W*Cin*kh*kw; backward computes grad input and grad weight (2x forward)
const convFlops = 3 * 2 * 4 * 32 * 8 * 32 * 32 * 32 * 9;

// (c) 20-step training loop
torch.manualSeed(0);
const params = [
  torch.randn([16, 4, 1, 3, 3]).mul(0.1), torch.zeros([16]), torch.randn([16, 16, 1, 3, 3]).mul(0.1), torch.zeros([16]),
  torch.randn([4, 16, 1, 3, 3]).mul(0.1), torch.zeros([4]),
].map((p) => p.requiresGrad_().keep());
const data = torch.randn([4, 4, 8, 32, 32]).keep(), target = torch.randn([4, 4, 8, 32, 32]).keep();
const trainStep = () => {
  let h = torch.aten.conv3d(data, params[0]!, params[1]!, 1, [0, 1, 1]).silu();
  h = torch.aten.conv3d(h, params[2]!, params[3]!, 1, [0, 1, 1]).silu();
  const y = torch.aten.conv3d(h, params[4]!, params[5]!, 1, [0, 1, 1]);
  const loss = y.sub(target).square().mean();
  loss.backward();
  torch.noGrad(() => {
    for (const p of params) {
      p.sub_(p.grad!, { alpha: 0.01 });
      p.grad = null;
    }
  });
};
for (let i = 0; i < 3; i++) torch.scope(trainStep);
ours.train_step_ms = bestOf(trainStep, 5, 20) * 1e3;

let reference: Record<string, number> | { error: string };
try {
  const py = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'reference.py');
  const python = torch.backends.referencePython();
  if (!python) throw new Error('no reference python recorded (torch.backends.engine().python)');
  reference = JSON.parse(execFileSync(python, [py, String(threads)], { encoding: 'utf8' }));
} catch (e) {
  reference = { error: `PyTorch reference unavailable: ${(e as Error).message.split('\n')[0]}` };
}

const r = reference as Record<string, number>;
const ratio = (k: string, rk = k) => (typeof r[rk] === 'number' ? +(ours[k]! / r[rk]!).toFixed(3) : null);
console.log(JSON.stringify({
  threads: torch.getNumThreads(),
  ours: { ...ours, conv3d_gflops: convFlops / (ours.conv3d_ms! / 1e3) / 1e9 },
  pytorch: typeof r.conv3d_ms === 'number' ? { ...r, conv3d_gflops: convFlops / (r.conv3d_ms / 1e3) / 1e9 } : reference,
  ratio_ours_over_pytorch: {
    add4: ratio('add4_us'), add4_direct: ratio('add4_direct_us', 'add4_us'), add4_unscoped: ratio('add4_unscoped_us', 'add4_us'),
    conv3d: ratio('conv3d_ms'), train_step: ratio('train_step_ms'),
  },
}, null, 2));
