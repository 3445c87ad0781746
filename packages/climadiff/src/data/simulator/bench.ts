// Benchmark of the built-in simulators: frames per second after spin-up, printed as JSON.
// Run: node dist/src/data/simulator/bench.js [threads]
import * as torch from '@climadiff/torch';
import { EarthSimulator } from './earth.js';
import { QGSimulator } from './qg.js';

function time(frames: number, next: () => unknown): number {
  const t0 = performance.now();
  for (let f = 0; f < frames; f++) next();
  return frames / ((performance.now() - t0) / 1000);
}

export function benchSimulators(threads = 1): Record<string, unknown>[] {
  torch.setNumThreads(threads);
  const out: Record<string, unknown>[] = [];
  for (const [nlat, nlon] of [[32, 64], [64, 128]] as const) {
    const t0 = performance.now();
    const sim = new EarthSimulator({ nlat, nlon, seed: 0, spinupDays: 60, everyHours: 6 });
    const spin = (performance.now() - t0) / 1000;
    out.push({ model: 'earth', grid: `${nlat}x${nlon}`, everyHours: 6, dtSeconds: sim.dt, stepsPerFrame: sim.stepsPerFrame,
      threads, spinup60DaysSeconds: +spin.toFixed(2), framesPerSecond: +time(200, () => sim.nextFrame()).toFixed(1) });
  }
  for (const n of [32, 64]) {
    const t0 = performance.now();
    const sim = new QGSimulator({ size: n, seed: 0, spinupDays: 300, everyHours: 6 });
    const spin = (performance.now() - t0) / 1000;
    out.push({ model: 'qg', grid: `${n}x${n}`, everyHours: 6, threads, spinup300DaysSeconds: +spin.toFixed(2),
      framesPerSecond: +time(100, () => sim.nextFrame()).toFixed(1), stepsPerFrame: sim.lastSteps });
  }
  return out;
}

if (process.argv[1]?.endsWith('simulator/bench.js')) {
  for (const r of benchSimulators(Number(process.argv[2] ?? 1))) console.log(JSON.stringify(r));
}
