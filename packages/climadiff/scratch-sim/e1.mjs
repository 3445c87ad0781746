import { EarthSimulator, earthStability } from '/work/main/packages/climadiff/dist/src/data/simulator/earth.js';
import { precipStats } from '/work/main/packages/climadiff/dist/src/data/simulator/common.js';
import * as torch from '@climadiff/torch';
torch.setNumThreads(1);
const [nlat, nlon, spin] = process.argv.slice(2).map(Number);
console.log(earthStability(nlat, nlon));
let t0 = Date.now();
const sim = new EarthSimulator({ nlat, nlon, seed: 1, spinupDays: spin, everyHours: 6 });
console.log('spinup s', (Date.now()-t0)/1000, 'dt', sim.dt, 'n', sim.stepsPerFrame);
let land = 0; for (const x of sim.land) land += x; console.log('landfrac', land/sim.land.length);
t0 = Date.now();
const frames = []; for (let f = 0; f < 365*4; f++) frames.push(sim.nextFrame());
const el = (Date.now()-t0)/1000; console.log('frames/s', frames.length/el);
const N = nlat*nlon;
const mean = (a) => a.reduce((s,x)=>s+x,0)/a.length;
// global mean (area-weighted) per month; zonal mean T
function gmean(a){ let s=0,w=0; for(let i=0;i<nlat;i++){const c=Math.cos(sim.lat[i]*Math.PI/180); for(let j=0;j<nlon;j++){s+=c*a[i*nlon+j]; w+=c;}} return s/w; }
for (let m = 0; m < 12; m++) { const fr = frames[Math.floor(m*365*4/12)]; console.log('t', (fr.timeHours/24%365).toFixed(0), 'gmT', gmean(fr.tas).toFixed(1), 'gmP mm/day', (gmean(fr.pr)*24).toFixed(2), 'gmW', gmean(fr.prw).toFixed(1)); }
const zm = (a,i)=>{let s=0; for(let j=0;j<nlon;j++) s+=a[i*nlon+j]; return s/nlon;};
const annual = new Float64Array(N); for (const fr of frames) for (let k=0;k<N;k++) annual[k]+=fr.tas[k]/frames.length;
console.log('zonal mean annual T', Array.from({length:nlat},(_,i)=>zm(annual,i).toFixed(0)).join(' '));
const all = new Float32Array(frames.length*N); frames.forEach((fr,f)=>all.set(fr.pr,f*N)); console.log(precipStats(all));
// seasonal amplitude land vs ocean NH 30-70
const jan = frames.slice(0, 124), jul = frames.slice(181*4, 212*4);
let al=0,nl=0,ao=0,no=0;
for (let i=0;i<nlat;i++){ if (sim.lat[i]<30||sim.lat[i]>70) continue; for(let j=0;j<nlon;j++){const k=i*nlon+j; const d = mean(jul.map(f=>f.tas[k]))-mean(jan.map(f=>f.tas[k])); if(sim.land[k]){al+=d;nl++;}else{ao+=d;no++;}}}
console.log('JJA-DJF land', al/nl, 'ocean', ao/no);
