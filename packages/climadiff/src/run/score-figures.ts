// The pictures of a scorecard folder (`climadiff score`): per variable, CRPS, RMSE and spread/skill against lead with
// every arm and its intervals (Vega-Lite SVG and PNG), rank histograms, and example maps of case 1 (truth, the first
// model's ensemble mean and two members, the best baseline) with coastlines on geographic grids.
import type { EnsembleFile } from './ensemble-file.js';
import type { BuiltBaseline, ScoredVariable } from './score-baselines.js';
import type { EnsembleScores } from '../eval/scores.js';
import {
  crpsSpec, mainCrps, rankHistogramSpec, rmseSpec, spreadSkillSpec, type ArmScores, type Scorecard, type VariableImages,
} from '../eval/scorecard.js';
import { barPanelsPNG, lineChartPNG, type LineSeries } from '../eval/chart-png.js';
import { vegaLiteToSVG } from '../eval/plots.js';
import { renderPanels, type PanelRow } from '../viz/panels.js';
import { encodePNG } from '../viz/render.js';

/** A path-safe form of a variable name for its picture folder. */
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_') || 'variable';

/** Writes each scored variable's charts and maps through put (path relative to the scorecard folder, bytes) and
 *  returns the pictures per variable for the Markdown scorecard. */
export async function writeScoreFigures(card: Scorecard, perVariable: readonly ScoredVariable[], o: {
  /** The first forecast file: its ensemble is the one the example maps show. */
  model: { label: string; file: EnsembleFile };
  frameKnown: boolean[]; caseDates: string[][]; lat: number[] | null; lon: number[] | null;
  put: (rel: string, data: string | Uint8Array) => void;
  log: (line: string) => void;
}): Promise<Record<string, VariableImages>> {
  const images: Record<string, VariableImages> = {};
  const [, N, F, H, W] = o.model.file.shape;
  for (const pv of perVariable) {
    const v = card.variables.find((x) => x.variable === pv.variable)!;
    const dir = safeName(pv.variable), c = o.model.file.variables.indexOf(pv.variable);
    const img: VariableImages = {};
    images[pv.variable] = img;
    if (!v.regions.some((r) => r.region === 'global')) continue;
    o.log(`${pv.variable}: charts and maps`);
    const u = v.units ? ` (${v.units})` : '';
    const global = v.regions.find((r) => r.region === 'global')!;
    const series = (pick: (s: EnsembleScores) => { v: number[] | null; lo?: number[] | null; hi?: number[] | null }): LineSeries[] =>
      card.arms.map((a) => global.arms.find((x) => x.arm === a.label)).filter((a): a is ArmScores => a !== undefined).flatMap((a) => {
        const p = pick(a.scores);
        return p.v ? [{ name: a.arm, x: card.leads.values, y: p.v, ...(p.lo && p.hi ? { lower: p.lo, upper: p.hi } : {}) }] : [];
      });
    const charts: [keyof VariableImages, string, object, Buffer][] = [
      ['crps', 'crps', crpsSpec(card, pv.variable), lineChartPNG({ title: `${pv.variable}: CRPS vs lead (global)`, xTitle: card.leads.title, yTitle: `fair CRPS${u}`,
        series: series((s) => { const fair = s.crpsFair !== null; return { v: mainCrps(s), lo: fair ? s.ci?.crpsFair?.lower : s.ci?.crps.lower, hi: fair ? s.ci?.crpsFair?.upper : s.ci?.crps.upper }; }) })],
      ['rmse', 'rmse', rmseSpec(card, pv.variable), lineChartPNG({ title: `${pv.variable}: ensemble-mean RMSE vs lead (global)`, xTitle: card.leads.title, yTitle: `RMSE${u}`,
        series: series((s) => ({ v: s.rmse, lo: s.ci?.rmse.lower, hi: s.ci?.rmse.upper })) })],
      ['spreadSkill', 'spread-skill', spreadSkillSpec(card, pv.variable), lineChartPNG({ title: `${pv.variable}: spread/skill vs lead (global), 1 = calibrated`, xTitle: card.leads.title,
        yTitle: 'sqrt((M+1)/M) spread / RMSE', hline: 1, series: series((s) => ({ v: s.spreadSkill, lo: s.ci?.spreadSkill?.lower, hi: s.ci?.spreadSkill?.upper })) })],
      ['rankHistograms', 'rank-histograms', rankHistogramSpec(card, pv.variable), barPanelsPNG({ title: `${pv.variable}: rank histograms (global, pooled over leads)`, xTitle: 'rank of the truth', yTitle: 'frequency',
        panels: global.arms.filter((a) => a.scores.members >= 2).map((a) => ({ name: `${a.arm} (M = ${a.scores.members})`, values: a.scores.rankHistogram.pooled.frequencies, expected: 1 / (a.scores.members + 1) })) })],
    ];
    for (const [key, file, spec, png] of charts) {
      o.put(`${dir}/${file}.svg`, await vegaLiteToSVG(spec));
      o.put(`${dir}/${file}.png`, png);
      img[key] = `${dir}/${file}.png`;
    }
    o.put(`${dir}/example-maps.png`, exampleMaps({
      variable: pv.variable, units: v.units, precip: v.precipitationLike, model: { label: o.model.label, data: o.model.file.data[c]!, M: o.model.file.shape[0] },
      truth: pv.truth, baseline: pv.bestBaseline ? pv.built.find((b) => b.label === pv.bestBaseline)! : null,
      N, F, H, W, frames: exampleFrames(o.frameKnown), labels: card.leads.labels, dates: o.caseDates[0]!, lat: o.lat, lon: o.lon,
    }));
    img.maps = `${dir}/example-maps.png`;
  }
  return images;
}

/** The frames the example maps show: the first and the last frame with a generated value. */
function exampleFrames(frameKnown: boolean[]): number[] {
  const gen = frameKnown.map((k, f) => (k ? -1 : f)).filter((f) => f >= 0);
  const list = gen.length ? gen : frameKnown.map((_, f) => f);
  const a = list[0]!, b = list[list.length - 1]!;
  return a === b ? [a] : [a, b];
}

/** Truth, the first model's ensemble mean and two members, and the best baseline, for case 1 at the chosen frames. */
function exampleMaps(o: {
  variable: string; units: string | null; precip: boolean; model: { label: string; data: Float32Array; M: number };
  truth: Float32Array; baseline: BuiltBaseline | null; N: number; F: number; H: number; W: number; frames: number[]; labels: string[]; dates: string[];
  lat: number[] | null; lon: number[] | null;
}): Buffer {
  const { N, F, H, W, frames } = o, HW = H * W;
  const at = (m: number, f: number) => ((m * N + 0) * F + f) * HW; // case 1 of member m
  const rowOf = (label: string, get: (f: number) => Float32Array): PanelRow => {
    const data = new Float32Array(frames.length * HW);
    frames.forEach((f, k) => data.set(get(f), k * HW));
    return { label, data, count: frames.length };
  };
  const meanOf = (data: Float32Array, M: number) => (f: number): Float32Array => {
    const out = new Float32Array(HW);
    for (let m = 0; m < M; m++) { const a = at(m, f); for (let j = 0; j < HW; j++) out[j] = out[j]! + data[a + j]! / M; }
    return out;
  };
  const rows: PanelRow[] = [rowOf('truth', (f) => o.truth.subarray(f * HW, (f + 1) * HW))];
  const M = o.model.M;
  if (M > 1) rows.push(rowOf(`${o.model.label} ensemble mean`, meanOf(o.model.data, M)));
  for (let m = 0; m < Math.min(2, M); m++) rows.push(rowOf(`${o.model.label} member ${m + 1}`, (f) => o.model.data.subarray(at(m, f), at(m, f) + HW)));
  if (o.baseline) {
    const Mb = o.baseline.ensemble.shape[0];
    rows.push(Mb > 1 ? rowOf(`${o.baseline.label} (ensemble mean)`, meanOf(o.baseline.ensemble.data, Mb))
      : rowOf(o.baseline.label, (f) => o.baseline!.ensemble.data.subarray(at(0, f), at(0, f) + HW)));
  }
  const geo = o.lat !== null && o.lon !== null;
  const anim = renderPanels({
    rows, height: H, width: W, frames: 1, ...(geo ? { lat: o.lat!, lon: o.lon! } : {}),
    title: `${o.variable}, case 1: ${frames.map((f) => `${o.labels[f]} (${o.dates[f]})`).join(' left, ')}${frames.length > 1 ? ' right' : ''}`,
    ...(o.units ? { units: o.units } : {}), maxColumns: 2,
    ...(o.precip ? { colormap: 'rain' as const, vmin: 0 } : {}),
  });
  return encodePNG(anim);
}

