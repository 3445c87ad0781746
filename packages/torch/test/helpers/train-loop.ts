// A child process for the memory test: trains a small conv net for N steps, with or without
// torch.scope, and prints RSS samples as JSON. Run: node train-loop.js <steps> <scoped|unscoped>
import * as torch from '../../src/index.js';

const steps = Number(process.argv[2] ?? 1000);
const scoped = process.argv[3] === 'scoped';
torch.setNumThreads(1);
torch.manualSeed(0);

// conv(3->16, 3x3) -> silu -> conv(16->16) -> silu -> conv(16->1): plain tensors, SGD by hand so the
// test exercises the tensor library itself (nn/optim have their own tests).
const param = (shape: number[], scale: number) => torch.randn(shape).mul(scale).requiresGrad_().keep();
const w1 = param([16, 3, 3, 3], 0.2), b1 = param([16], 0.0);
const w2 = param([16, 16, 3, 3], 0.1), b2 = param([16], 0.0);
const w3 = param([1, 16, 3, 3], 0.1), b3 = param([1], 0.0);
const params = [w1, b1, w2, b2, w3, b3];
const x = torch.randn([8, 3, 32, 32]).keep();
const target = torch.randn([8, 1, 32, 32]).keep();

function step(): number {
  const h1 = torch.aten.conv2d(x, w1, b1, 1, 1).silu();
  const h2 = torch.aten.conv2d(h1, w2, b2, 1, 1).silu();
  const y = torch.aten.conv2d(h2, w3, b3, 1, 1);
  const loss = y.sub(target).square().mean();
  loss.backward();
  torch.noGrad(() => {
    for (const p of params) {
      const g = p.grad!;
      p.sub_(g, { alpha: 0.05 });
      g.zero_();
    }
  });
  return loss.item();
}

const rss: number[] = [];
const losses: number[] = [];
for (let i = 0; i < steps; i++) {
  losses.push(scoped ? torch.scope(step) : step());
  if (i % 50 === 49) rss.push(process.memoryUsage().rss);
}
console.log(JSON.stringify({ rss, first: losses[0], last: losses[losses.length - 1], live: torch.liveTensors() }));
