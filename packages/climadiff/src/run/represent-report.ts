// report.md of `climadiff embed-eval` (run/represent-eval.ts): the acceptance tables of a representation model.
import type { ProbeResult } from '../eval/probes.js';
import type { AnalogueResult, ElboComparison, LikeResult } from './represent-experiments.js';
import type { RepresentationEvalOptions } from './represent-eval.js';

export const mean = (a: ArrayLike<number>): number => { let s = 0, n = 0; for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) { s += a[i]!; n++; } return n ? s / n : NaN; };
export const fmt = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

export function reportMarkdown(o: RepresentationEvalOptions, s: Record<string, unknown>, probes: { name: string; season: ProbeResult | null; anomaly: ProbeResult | null }[],
  like: LikeResult['summary'], analogues: AnalogueResult[], e: ElboComparison, au: { variance: number[]; active: number[] }, kl: Float64Array, d: number,
  tasName: string | null, hasLand: boolean): string {
  const ci = (r: { score?: number; mean?: number; estimate?: number; low: number; high: number }, digits = 3) => `${fmt((r.score ?? r.mean ?? r.estimate)!, digits)} [${fmt(r.low, digits)}, ${fmt(r.high, digits)}]`;
  const L: string[] = [];
  L.push(`# Representation model ${o.checkpoint}`, '');
  L.push(`${s['trainWindows']} training windows (every ${o.trainEvery ?? 2} days; probes fitted, analogue bank) and ${s['testWindows']} held-out test windows (every ${o.testEvery ?? 1} day(s); probes scored). Intervals: 95% bootstrap over test windows (clips for the samples).`, '');
  L.push('## Posterior collapse', '');
  L.push(`- active units (Cov over training windows of E_q[w_i] > 0.01): **${au.active.length} of ${d}** (${au.active.map((i) => `w${i}`).join(', ') || 'none'})`);
  L.push(`- Cov of E_q[w_i] per unit: ${au.variance.map((v) => v.toFixed(3)).join(', ')}`);
  L.push(`- KL(q(w|x) || N(0, I)) per test window: mean ${fmt(mean(kl))} nats (min ${fmt(Math.min(...kl))}, max ${fmt(Math.max(...kl))})`, '');
  L.push('## Linear probes (fitted on training windows, scored on test windows)', '');
  L.push(`Season: 4 classes (DJF, MAM, JJA, SON of the window's first frame), multinomial logistic regression with balanced class weights; score balanced accuracy (chance 0.25).`);
  L.push(tasName ? `Anomaly: the window's mean ${tasName} anomaly (from the training windows' month x cell climatology) over northern-hemisphere ${hasLand ? 'land' : 'cells (no land mask)'}, cos-latitude weighted; ridge regression; score R^2.` : 'Anomaly: no temperature variable, not probed.', '');
  L.push('| features | season (balanced accuracy) | NH land temperature anomaly (R^2) |', '|---|---|---|');
  for (const p of probes) L.push(`| ${p.name} | ${p.season ? ci(p.season) : 'n/a (one season)'} | ${p.anomaly ? ci(p.anomaly) : 'n/a'} |`);
  L.push('');
  L.push('## ELBO', '');
  L.push(`${e.windows} test windows; bits per dimension of the normalised data (after the channels' transforms) with bin width ${e.binWidth} (normalised units); ${e.quadratureSteps} Gauss-Legendre nodes for the diffusion integral.`, '');
  L.push('| model | bits/dim |', '|---|---|');
  L.push(`| with w: E_q[L_VDM(x, w)] + KL (of which KL ${fmt(e.klBpd, 4)}) | ${ci(e.withW, 4)} |`);
  if (e.without && e.difference) L.push(`| unconditional (${o.baseline}) | ${ci(e.without, 4)} |`, `| difference (with w - without; < 0: w helps) | ${ci(e.difference, 4)} |`);
  else L.push('| unconditional | not given (--baseline) |');
  L.push('');
  L.push('## Samples given w(x) against samples given w ~ N(0, I)', '');
  L.push(`${s['samples'] ? `${(s['samples'] as { perVariable: unknown[] }).perVariable.length} variable(s), ` : ''}${o.likeClips ?? 8} test clips x ${o.members ?? 2} members, ${like.sampler} ${like.steps} steps. RMSE of the clip-mean field and correlation of the clip-mean anomaly field with those of x (cos-latitude weighted); differences paired over clips. Diagnostics against the same clips: mean squared change ratio at k = 1 and variance-map R^2.`, '');
  L.push('| variable | RMSE given w(x) | RMSE prior | difference | anomaly corr. given w(x) | prior | difference | msc ratio k=1 (w(x) / prior) | variance-map R^2 (w(x) / prior) |', '|---|---|---|---|---|---|---|---|---|');
  for (const v of like.perVariable) {
    L.push(`| ${v.variable} | ${fmt(v.rmse.conditional, 4)} | ${fmt(v.rmse.unconditional, 4)} | ${ci(v.rmse.difference, 4)} | ${fmt(v.correlation.conditional)} | ${fmt(v.correlation.unconditional)} | ${ci(v.correlation.difference)} | ${fmt(v.msc1.conditional)} / ${fmt(v.msc1.unconditional)} | ${fmt(v.varianceR2.conditional)} / ${fmt(v.varianceR2.unconditional)} |`);
  }
  L.push('', 'Clips and samples: ' + (s['samples'] ? (like.perVariable.map((v) => `[${v.variable}](like-${v.variable}.gif)`).join(', ')) : ''), '');
  L.push('## Analogue forecasts of the next frames', '');
  L.push('The next window of every test window forecast by the next window of its nearest training window in w, in PCA space, and by a random training window of the same season (mean over 20 draws); area-weighted RMSE over the forecast frames.', '');
  L.push('| variable | analogue in w | analogue in PCA | random same season | ratio w / random |', '|---|---|---|---|---|');
  for (const a of analogues) L.push(`| ${a.variable} | ${fmt(a.w, 4)} | ${fmt(a.pca, 4)} | ${fmt(a.randomSameSeason, 4)} | ${ci(a.ratio)} |`);
  L.push('', '![embeddings](embeddings.png)', '');
  return L.join('\n');
}

