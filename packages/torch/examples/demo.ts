// `npm run demo` (for now): trains a tiny conv net on random data and prints the loss falling.
// Later issues replace this with climadiff's main job (simulate -> train -> sample -> report).
import * as torch from '../src/index.js';

class TinyNet extends torch.nn.Module {
  conv1 = new torch.nn.Conv2d(3, 16, 3, { padding: 1 });
  act = new torch.nn.SiLU();
  conv2 = new torch.nn.Conv2d(16, 16, 3, { padding: 1 });
  conv3 = new torch.nn.Conv2d(16, 1, 3, { padding: 1 });
  forward(x: torch.Tensor): torch.Tensor {
    return this.conv3.forward(this.act.forward(this.conv2.forward(this.act.forward(this.conv1.forward(x)))));
  }
}

torch.manualSeed(0);
const net = new TinyNet();
const nParams = net.parameters().reduce((n, p) => n + p.numel(), 0);
// A learnable target: a fixed smoothing of the input plus a little noise.
const x = torch.randn([16, 3, 32, 32]).keep();
const target = torch.noGrad(() => torch.nn.functional.avgPool2d(x.mean([1], true), 3, 1, 1).mul(2)).keep();
const opt = new torch.optim.AdamW(net.parameters(), { lr: 3e-3, weightDecay: 0.01 });

console.log(`TinyNet: ${nParams} parameters, ${torch.getNumThreads()} threads, libtorch via @climadiff/torch`);
const steps = Number(process.env.DEMO_STEPS ?? 200);
const t0 = performance.now();
let first = NaN;
for (let step = 1; step <= steps; step++) {
  const loss = torch.scope(() => {
    const l = net.forward(x).sub(target).square().mean();
    opt.zeroGrad();
    l.backward();
    opt.step();
    return l.item();
  });
  if (step === 1 || step % 20 === 0) {
    if (step === 1) first = loss;
    const bar = '#'.repeat(Math.max(1, Math.round((loss / first) * 50))); // relative to the first loss
    console.log(`step ${String(step).padStart(4)}  loss ${loss.toFixed(5)}  ${bar}`);
  }
}
console.log(`${steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
