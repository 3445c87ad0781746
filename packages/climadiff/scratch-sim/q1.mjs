import { QGSimulator } from '/work/main/packages/climadiff/dist/src/data/simulator/qg.js';
import { precipStats } from '/work/main/packages/climadiff/dist/src/data/simulator/common.js';
import * as torch from '@climadiff/torch';
torch.setNumThreads(1);
const [n, spin, frames] = process.argv.slice(2).map(Number);
let t0 = Date.now();
const sim = new QGSimulator({ size: n, seed: 1, spinupDays: 0, everyHours: 6 });
for (let d = 0; d < spin; d += 10) {
  for (let f = 0; f < 40; f++) sim.nextFrame();
  const dg = sim.diagnostics(); console.log('day', d+10, 'ke', dg.ke.toExponential(3), 'steps', sim.lastSteps, 'cfl', sim.maxCfl.toFixed(2));
}
console.log('spin s', (Date.now()-t0)/1000);
t0 = Date.now();
const fr = []; for (let f = 0; f < frames; f++) fr.push(sim.nextFrame());
console.log('frames/s', frames/((Date.now()-t0)/1000), 'steps/frame', sim.lastSteps);
const N=n*n; const all = new Float32Array(frames*N); fr.forEach((x,i)=>all.set(x.pr,i*N)); console.log(precipStats(all));
const std=(a)=>{let m=0;for(const x of a)m+=x;m/=a.length;let v=0;for(const x of a)v+=(x-m)**2;return Math.sqrt(v/a.length)};
console.log('std ta', std(fr.at(-1).ta), 'std w', std(fr.at(-1).wa), 'std psi1', std(fr.at(-1).psi1));
const sp = sim.diagnostics().spectrum; console.log(Array.from(sp).map(x=>x.toExponential(1)).join(' '));
