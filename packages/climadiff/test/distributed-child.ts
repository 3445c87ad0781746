// Child process of distributed-train.test.ts: trains the tiny model on SyntheticClips (a TrainData that ignores
// `shard`, so the trainer cuts whole batches itself) for 4 steps of a global batch of 6, in the group its environment
// describes (torchrun's variables) or alone; rank 0 prints the losses and the final weights as JSON.
import * as torch from '@climadiff/torch';
import { train } from '../src/train/index.js';
import { TinyDenoiser, SyntheticClips } from './train-fixture.js';

torch.setNumThreads(1);
torch.manualSeed(1);
const env = torch.distributed.launchEnvironment();
const group = env.worldSize > 1 ? torch.distributed.initProcessGroup({ timeoutMs: 60_000 }) : null;
const model = new TinyDenoiser();
// dropout draws from each process's own generator, so it is not split-invariant: off here (the U-Net's default is 0)
model.drop = new torch.nn.Dropout(0);
const losses: number[] = [];
await train({
  model, data: new SyntheticClips(14), ...(group ? { group } : {}),
  config: { seed: 3, steps: 4, batchSize: 6, gradAccumulation: Number(process.argv[2] ?? 1), logEvery: 1, validateEvery: 0, emaDecay: 0.9, lrSchedule: { kind: 'constant', warmupSteps: 0 } },
  onProgress: (p) => { if (p.loss !== null) losses.push(p.loss); },
});
if ((group?.rank ?? 0) === 0) {
  const weights = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from((t as torch.Tensor).toFloat32Array())]));
  process.stdout.write(`${JSON.stringify({ losses, weights })}\n`);
}
if (group) torch.distributed.destroyProcessGroup();
