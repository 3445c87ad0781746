// Child process of train-stop.test.ts: trains the tiny model in argv[2] to step 30 (resuming when the folder holds a
// checkpoint), checkpointing only when it stops, with the CLI's graceful stop on SIGINT / SIGTERM; prints each step
// and exits with EXIT_STOPPED when a signal stopped it, 0 when it reached step 30.
import * as torch from '@climadiff/torch';
import { train, hasCheckpoint } from '../src/train/index.js';
import { EXIT_STOPPED, gracefulStop } from '../src/cli/options.js';
import { TinyDenoiser, SyntheticClips } from './train-fixture.js';

torch.setNumThreads(1);
const runDir = process.argv[2]!;
torch.manualSeed(1);
const stop = gracefulStop(['SIGINT', 'SIGTERM'], 'stopping');
const r = await train({
  model: new TinyDenoiser(), data: new SyntheticClips(), runDir, resume: hasCheckpoint(runDir), signal: stop.signal,
  config: { seed: 3, steps: 30, batchSize: 4, logEvery: 1, checkpointEvery: 1000, keepCheckpoints: 2, validateEvery: 0, emaDecay: 0.9 },
  // a step of at least 20 ms (the tiny model alone takes a few), so a signal lands in the middle of the run
  onProgress: (p) => { const t = Date.now() + 20; while (Date.now() < t) { /* the rest of the step */ } process.stdout.write(`step ${p.step}\n`); },
});
stop.dispose();
process.stdout.write(`stopped ${r.step} ${r.stopReason} ${r.signalReason ?? ''}\n`);
process.exitCode = r.stopReason === 'signal' ? EXIT_STOPPED : 0;
