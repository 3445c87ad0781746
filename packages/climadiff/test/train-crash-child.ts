// Child process of train-crash.test.ts: trains the tiny model in argv[2] checkpointing every step (resuming
// when the folder holds a checkpoint) and prints each step, until it is killed.
import * as torch from '@climadiff/torch';
import { train, hasCheckpoint } from '../src/train/index.js';
import { TinyDenoiser, SyntheticClips } from './train-fixture.js';

torch.setNumThreads(1);
const runDir = process.argv[2]!;
torch.manualSeed(1);
await train({
  model: new TinyDenoiser(), data: new SyntheticClips(), runDir, resume: hasCheckpoint(runDir),
  config: { seed: 3, steps: 1_000_000, batchSize: 4, logEvery: 1, checkpointEvery: 1, keepCheckpoints: 2, validateEvery: 0, emaDecay: 0.9 },
  onProgress: (p) => process.stdout.write(`step ${p.step}\n`),
});
