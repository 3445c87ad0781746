// The scorecard: the ensemble scores (scores.ts) of several "arms" — the model's ensembles and the baselines
// (baselines.ts) — on the same cases, per variable and region, assembled into one JSON-serialisable object, rendered
// as Markdown tables and as vega-lite chart specs. Pure: no I/O (run/score.ts reads the files, scores the arms and
// writes what this module produces).
//
// Conventions (stated in every scorecard, see scorecardConventions):
//  - all scores in the variable's physical units (skill scores, ratios and rank frequencies are unitless);
//  - CRPS: the fair CRPS of an M-member ensemble (Ferro 2014),
//      CRPS_fair = (1/M) sum_i |x_i - y| - 1/(2 M (M-1)) sum_{i,j} |x_i - x_j|,
//    unbiased for the CRPS of the distribution the members are drawn from; a deterministic arm (M = 1) has no fair
//    CRPS and is scored by the standard CRPS, which for one member is the absolute error (so its "CRPS" is the MAE);
//  - RMSE of the ensemble mean: sqrt of the area-weighted mean over cells and cases of (mean_i x_i - y)^2;
//  - spread: sqrt of the area-weighted mean of the unbiased member variance (ddof = 1); spread/skill
//    SSR = sqrt((M+1)/M) spread / RMSE (1 for a calibrated ensemble; Fortin et al. 2014);
//  - CRPS skill score vs the climatology arm: CRPSS = 1 - CRPS / CRPS_clim on the same cases (paired);
//  - area weights: cos(latitude), normalised to mean 1 over the rows, times the region mask;
//  - confidence intervals: percentile bootstrap over cases (the N cases resampled with replacement, the same
//    resamples for every lead, score and arm), ratio-of-sums statistics;
//  - rank histograms: ties split evenly; flatness delta = sum_k (n_k - n/(M+1))^2 / (n M/(M+1)) (Candille &
//    Talagrand 2005; about 1 when flat);
//  - summaries: the arithmetic mean over the leads of the per-lead scores (leads without a scored value skipped).
import type { CrpsKind, EnsembleScores } from './scores.js';
import { CATEGORY_HEX } from './chart-png.js';

/** One arm: a model ensemble (a file) or a baseline built from the truth. */
export interface ScorecardArm {
  label: string;
  kind: 'model' | 'baseline';
  /** Baselines: 'persistence', 'climatology', 'damped-persistence', 'linear', 'cubic', 'laplace', 'laplace-anomaly', 'nearest', 'bilinear', 'bicubic'. */
  method: string | null;
  /** The file (models) or how the baseline was made. */
  source: string;
  members: number;
  description: string;
}

/** The scores of one arm in one region. */
export interface ArmScores { arm: string; scores: EnsembleScores }

/** Per-arm summary: means over leads of the per-lead scores (NaN when no lead has a value). */
export interface ArmSummary {
  arm: string;
  members: number;
  /** The kind of `crps`: 'fair' (M >= 2) or 'standard' (M = 1: the mean absolute error). */
  crpsKind: CrpsKind;
  crps: number;
  rmse: number;
  spread: number | null;
  spreadSkill: number | null;
  /** CRPSS vs the climatology arm (null without one). */
  crpsSkill: number | null;
  /** Pooled rank-histogram flatness delta (null for M = 1). */
  rankDelta: number | null;
  brier: { threshold: number; mean: number }[];
  fss: { threshold: number; window: number; mean: number }[];
}

export interface RegionScorecard {
  region: string;
  description: string;
  /** Cells of positive weight. */
  cells: number;
  arms: ArmScores[];
  summary: ArmSummary[];
}

export interface VariableScorecard {
  variable: string;
  units: string | null;
  precipitationLike: boolean;
  /** Brier thresholds (the variable's units; empty unless precipitation-like). */
  thresholds: number[];
  fss: { threshold: number; window: number }[];
  regions: RegionScorecard[];
  notes: string[];
}

export interface ScorecardTraining {
  /** First and last training step (dates). */
  from: string;
  to: string;
  steps: number;
  years: number[];
  /** How the period was chosen (the train option, or the default rule). */
  rule: string;
}

export interface ScorecardLeads {
  /** Axis title, e.g. 'lead time (hours)' or 'frame'. */
  title: string;
  /** Per frame: the x value of the charts and the row label of the tables. */
  values: number[];
  labels: string[];
  /** Per frame: true where no value was generated (every value given to the model: not scored). */
  known: boolean[];
}

export interface ScorecardInput {
  title?: string;
  /** ISO time the scorecard was made (passed in: this module does no I/O and reads no clock). */
  created: string;
  truth: string;
  task: string | null;
  settings: Record<string, unknown>;
  leads: ScorecardLeads;
  /** Per case, the date of every frame. */
  caseDates: string[][];
  arms: ScorecardArm[];
  /** Label of the arm the CRPS skill scores are relative to (the climatology), or null. */
  reference: string | null;
  training: ScorecardTraining | null;
  bootstrap: { samples: number; level: number; seed: number } | null;
  /** Which values are scored, when not all (masked tasks: the generated ones only). */
  scoredValues: string;
  variables: VariableScoresInput[];
  notes: string[];
}

/** A variable's scores as scored (the summaries are added by buildScorecard). */
export type VariableScoresInput = Omit<VariableScorecard, 'regions'> & { regions: Omit<RegionScorecard, 'summary'>[] };

export interface Scorecard extends Omit<ScorecardInput, 'variables'> {
  version: 1;
  title: string;
  conventions: Record<string, string>;
  variables: VariableScorecard[];
  /** Files written with the scorecard (relative to its folder), filled in by the writer. */
  files: string[];
}

// ---------------------------------------------------------------------------------------------------
// Thresholds

/**
 * Brier / FSS thresholds of 0.1 and 1 mm/h in a precipitation variable's units: mm h-1 (0.1, 1), mm d-1 (2.4, 24),
 * kg m-2 s-1 (a mm of water per second: 0.1/3600, 1/3600), m h-1 or m (hourly accumulation in metres; 1e-4, 1e-3),
 * mm (hourly accumulation). Null for units it does not know.
 */
export function precipitationThresholds(units: string | null | undefined): number[] | null {
  const u = (units ?? '').trim().replace(/\*\*/g, '').replace(/\^/g, '');
  if (/^mm ?(h|hr)-1$|^mm\/(h|hr)$|^mm$/.test(u)) return [0.1, 1];
  if (/^mm ?(d|day)-1$|^mm\/(d|day)$/.test(u)) return [2.4, 24];
  if (/^kg m-2 s-1$|^kg\/m2\/s$|^mm ?s-1$|^mm\/s$/.test(u)) return [0.1 / 3600, 1 / 3600];
  if (/^m ?(h|hr)-1$|^m\/(h|hr)$|^m$/.test(u)) return [1e-4, 1e-3];
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Assembly

/** Mean of the finite values (NaN if none). */
export function meanOverLeads(values: ArrayLike<number> | null | undefined): number {
  if (!values) return NaN;
  let s = 0, n = 0;
  for (let i = 0; i < values.length; i++) { const v = values[i]!; if (Number.isFinite(v)) { s += v; n++; } }
  return n > 0 ? s / n : NaN;
}

/** The per-lead "CRPS" of an arm: the fair CRPS for ensembles, the standard CRPS (= MAE) for M = 1. */
export const mainCrps = (s: EnsembleScores): number[] => s.crpsFair ?? s.crps;

/** Summary of one arm's scores (means over leads). */
export function summariseArm(arm: string, s: EnsembleScores): ArmSummary {
  return {
    arm, members: s.members, crpsKind: s.crpsKind,
    crps: meanOverLeads(mainCrps(s)), rmse: meanOverLeads(s.rmse),
    spread: s.spread ? meanOverLeads(s.spread) : null, spreadSkill: s.spreadSkill ? meanOverLeads(s.spreadSkill) : null,
    crpsSkill: s.crpsSkill ? meanOverLeads(s.crpsSkill) : null,
    rankDelta: s.members >= 2 ? s.rankHistogram.pooled.delta : null,
    brier: s.brier.map((b) => ({ threshold: b.threshold, mean: meanOverLeads(b.perLead) })),
    fss: s.fss.map((f) => ({ threshold: f.threshold, window: f.window, mean: meanOverLeads(f.perLead) })),
  };
}

/** The conventions of the scores, as stated in the scorecard (keys are stable; values are prose). */
export function scorecardConventions(input: Pick<ScorecardInput, 'bootstrap' | 'reference' | 'scoredValues' | 'training'>): Record<string, string> {
  const b = input.bootstrap;
  return {
    units: 'every score is in the physical units of its variable (skill scores, spread/skill and rank frequencies are unitless)',
    crps: 'fair CRPS (Ferro 2014): (1/M) sum_i |x_i - y| - 1/(2 M (M-1)) sum_{i,j} |x_i - x_j|; arms with one member (deterministic baselines) are scored by the standard CRPS, which for M = 1 is the absolute error (MAE)',
    rmse: 'RMSE of the ensemble mean: sqrt of the area-weighted mean over cells and cases of (ensemble mean - truth)^2 (the square root taken last)',
    spread: 'sqrt of the area-weighted mean of the unbiased member variance (ddof = 1), over the same cells as the RMSE',
    spreadSkill: 'sqrt((M+1)/M) * spread / RMSE: 1 for a calibrated ensemble of M members, < 1 under-dispersive, > 1 over-dispersive',
    crpsSkill: input.reference ? `CRPSS = 1 - CRPS / CRPS of '${input.reference}' on the same cases (1 perfect, 0 no better than it, < 0 worse)` : 'no climatology arm: no CRPS skill score',
    weights: 'cos(latitude) row weights normalised to mean 1 (uniform without latitudes), times the region mask',
    bootstrap: b ? `${Math.round(b.level * 100)}% percentile intervals from ${b.samples} bootstrap resamples of the cases (with replacement; the same resamples for every lead, score and arm; seed ${b.seed})` : 'no bootstrap intervals',
    rankHistogram: 'rank of the truth among the members (number of members below it), ties split evenly; flatness delta = sum_k (n_k - n/(M+1))^2 / (n M/(M+1)), about 1 when flat (Candille & Talagrand 2005)',
    brier: 'Brier score of exceeding a threshold: mean of (fraction of members above - observed 0/1)^2, area-weighted',
    fss: 'fractions skill score (Roberts & Lean 2008) of exceeding a threshold in an n x n cell neighbourhood, from the member fraction above the threshold',
    summary: 'summary rows: the arithmetic mean over leads of the per-lead values (leads without a scored value skipped)',
    scoredValues: input.scoredValues,
    training: input.training ? `${input.training.rule}: ${input.training.from} to ${input.training.to} (${input.training.steps} steps)` : 'no training period (no baseline needed one)',
  };
}

/** Assembles the scorecard: adds the summaries and the conventions. */
export function buildScorecard(input: ScorecardInput): Scorecard {
  const variables: VariableScorecard[] = input.variables.map((v) => ({
    ...v,
    regions: v.regions.map((r) => ({ ...r, summary: r.arms.map((a) => summariseArm(a.arm, a.scores)) })),
  }));
  return {
    version: 1,
    ...input,
    title: input.title ?? 'climadiff scorecard',
    conventions: scorecardConventions(input),
    variables,
    files: [],
  };
}

/** JSON text of a scorecard, NaN and infinities written as null. */
export function scorecardJSON(card: Scorecard): string {
  return JSON.stringify(card, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1);
}

// ---------------------------------------------------------------------------------------------------
// Markdown

export const fmt = (v: number | null | undefined): string => {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
  return v.toPrecision(4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
};

const withCI = (v: number, lo?: number, hi?: number): string =>
  lo !== undefined && hi !== undefined && Number.isFinite(lo) && Number.isFinite(hi) && Number.isFinite(v) ? `${fmt(v)} [${fmt(lo)}, ${fmt(hi)}]` : fmt(v);

function table(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** Pictures of a variable, as paths relative to the scorecard. */
export interface VariableImages { crps?: string; rmse?: string; spreadSkill?: string; rankHistograms?: string; maps?: string }

/** The scorecard as Markdown: conventions, then per variable and region a summary and per-lead tables. */
export function scorecardMarkdown(card: Scorecard, images: Record<string, VariableImages> = {}): string {
  const md: string[] = [];
  const ci = card.bootstrap ? ` (${Math.round(card.bootstrap.level * 100)}% CI)` : '';
  md.push(`# ${card.title}`, '');
  md.push(table(['', ''], [
    ['truth', card.truth],
    ['task', card.task ?? 'unknown (not a climadiff ensemble file)'],
    ['cases', `${card.caseDates.length} (first frame of the first case ${card.caseDates[0]?.[0] ?? 'n/a'}, of the last ${card.caseDates[card.caseDates.length - 1]?.[0] ?? 'n/a'})`],
    ['frames per case', String(card.leads.values.length)],
    ...card.arms.map((a) => [`arm '${a.label}'`, `${a.kind === 'model' ? 'model' : `baseline (${a.method})`}, ${a.members} member${a.members === 1 ? '' : 's'}: ${a.description}`]),
    ['training period', card.training ? `${card.training.from} to ${card.training.to} (${card.training.steps} steps; years ${card.training.years.join(', ')}): ${card.training.rule}` : 'none'],
    ['scored values', card.scoredValues],
  ]), '');
  md.push('## Conventions', '');
  for (const [k, v] of Object.entries(card.conventions)) md.push(`- **${k}**: ${v}`);
  md.push('');
  if (card.notes.length) {
    md.push('## Notes', '');
    for (const n of card.notes) md.push(`- ${n}`);
    md.push('');
  }
  const leadLabel = (f: number) => `${card.leads.labels[f]}${card.leads.known[f] ? ' (known, not scored)' : ''}`;
  for (const v of card.variables) {
    const u = v.units ? ` (${v.units})` : '';
    md.push(`## ${v.variable}${u}`, '');
    for (const n of v.notes) md.push(`- ${n}`);
    if (v.notes.length) md.push('');
    const img = images[v.variable] ?? {};
    for (const r of v.regions) {
      md.push(`### ${v.variable}: ${r.region} (${r.description}; ${r.cells} cells)`, '');
      if (r.arms.length === 0) { md.push('No arm could be scored.', ''); continue; }
      md.push(`Summary (mean over leads; CRPS${u}, RMSE${u}):`, '');
      const hasSkill = r.summary.some((s) => s.crpsSkill !== null);
      md.push(table(
        ['arm', 'members', 'CRPS', 'RMSE', 'spread/skill', ...(hasSkill ? ['CRPSS vs climatology'] : []), 'rank histogram delta',
          ...v.thresholds.map((t) => `Brier > ${fmt(t)}`), ...v.fss.map((e) => `FSS > ${fmt(e.threshold)} (${e.window}x${e.window})`)],
        r.summary.map((s) => [s.arm, String(s.members), `${fmt(s.crps)}${s.crpsKind === 'standard' ? ' (MAE)' : ''}`, fmt(s.rmse), fmt(s.spreadSkill),
          ...(hasSkill ? [fmt(s.crpsSkill)] : []), fmt(s.rankDelta), ...s.brier.map((b) => fmt(b.mean)), ...s.fss.map((f) => fmt(f.mean))]),
      ), '');
      const F = card.leads.values.length;
      const perLead = (title: string, pick: (s: EnsembleScores) => { v: number[] | null; lo?: number[] | null; hi?: number[] | null }, arms = r.arms) => {
        if (arms.length === 0) return;
        md.push(`${title}:`, '');
        md.push(table([card.leads.title, ...arms.map((a) => a.arm)], Array.from({ length: F }, (_, f) => [leadLabel(f), ...arms.map((a) => {
          const p = pick(a.scores);
          return p.v ? withCI(p.v[f]!, p.lo?.[f], p.hi?.[f]) : 'n/a';
        })])), '');
      };
      perLead(`Fair CRPS${u}${ci}; one-member arms: MAE`, (s) => {
        const fair = s.crpsFair !== null;
        return { v: mainCrps(s), lo: fair ? s.ci?.crpsFair?.lower : s.ci?.crps.lower, hi: fair ? s.ci?.crpsFair?.upper : s.ci?.crps.upper };
      });
      perLead(`Ensemble-mean RMSE${u}${ci}`, (s) => ({ v: s.rmse, lo: s.ci?.rmse.lower, hi: s.ci?.rmse.upper }));
      const ens = r.arms.filter((a) => a.scores.spreadSkill !== null);
      perLead(`Spread/skill sqrt((M+1)/M) spread / RMSE${ci}`, (s) => ({ v: s.spreadSkill, lo: s.ci?.spreadSkill?.lower, hi: s.ci?.spreadSkill?.upper }), ens);
      if (hasSkill) perLead(`CRPS skill score vs '${card.reference}'${ci}`, (s) => ({ v: s.crpsSkill, lo: s.ci?.crpsSkill?.lower, hi: s.ci?.crpsSkill?.upper }));
      if (hasSkill) perLead(`Ensemble-mean RMSE / RMSE of '${card.reference}'${ci}`, (s) => ({ v: s.rmseRatio, lo: s.ci?.rmseRatio?.lower, hi: s.ci?.rmseRatio?.upper }));
      if (ens.length) {
        md.push('Rank histograms (pooled over leads; frequency per rank 0..M, flat = 1/(M+1)):', '');
        md.push(table(['arm', 'M', 'delta', 'chi^2', 'frequencies'], ens.map((a) => {
          const h = a.scores.rankHistogram.pooled;
          return [a.arm, String(a.scores.members), fmt(h.delta), fmt(h.chiSquare), h.frequencies.map((x) => fmt(x)).join(' ')];
        })), '');
      }
      v.thresholds.forEach((t, k) => perLead(`Brier score, ${v.variable} > ${fmt(t)}${u}${ci}`, (s) => ({ v: s.brier[k]?.perLead ?? null, lo: s.ci?.brier[k]?.lower, hi: s.ci?.brier[k]?.upper })));
      v.fss.forEach((e, k) => perLead(`Fractions skill score, ${v.variable} > ${fmt(e.threshold)}${u}, ${e.window}x${e.window} cells${ci}`, (s) => ({ v: s.fss[k]?.perLead ?? null, lo: s.ci?.fss[k]?.lower, hi: s.ci?.fss[k]?.upper })));
    }
    const pics: [string, string | undefined][] = [['CRPS vs lead', img.crps], ['RMSE vs lead', img.rmse], ['spread/skill vs lead', img.spreadSkill],
      ['rank histograms', img.rankHistograms], ['example maps', img.maps]];
    if (pics.some(([, p]) => p)) {
      md.push(`### ${v.variable}: pictures (global)`, '');
      for (const [t, p] of pics) if (p) md.push(`![${v.variable}: ${t}](${p})`, '');
    }
  }
  return md.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// vega-lite specs

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

function regionOf(card: Scorecard, variable: string, region: string): RegionScorecard {
  const v = card.variables.find((x) => x.variable === variable);
  if (!v) throw new Error(`scorecard: no variable '${variable}' (has ${card.variables.map((x) => x.variable).join(', ')})`);
  const r = v.regions.find((x) => x.region === region);
  if (!r) throw new Error(`scorecard: variable '${variable}' has no region '${region}' (has ${v.regions.map((x) => x.region).join(', ')})`);
  return r;
}

/** The colour of each arm (the arms' order in the scorecard), the same in every chart and in the PNGs. */
export function armColours(card: Scorecard): { domain: string[]; range: string[] } {
  const domain = card.arms.map((a) => a.label);
  return { domain, range: domain.map((_, i) => CATEGORY_HEX[i % CATEGORY_HEX.length]!) };
}

/** Rows {lead, arm, value, lower, upper} of a per-lead score for the arms that have it. */
export function leadRows(card: Scorecard, variable: string, region: string, pick: (s: EnsembleScores) => { v: number[] | null; lo?: number[] | null; hi?: number[] | null }):
  { lead: number; arm: string; value: number; lower: number | null; upper: number | null }[] {
  const r = regionOf(card, variable, region);
  const rows: { lead: number; arm: string; value: number; lower: number | null; upper: number | null }[] = [];
  for (const a of r.arms) {
    const p = pick(a.scores);
    if (!p.v) continue;
    p.v.forEach((v, f) => {
      if (!Number.isFinite(v)) return;
      const lo = p.lo?.[f], hi = p.hi?.[f];
      rows.push({ lead: card.leads.values[f]!, arm: a.arm, value: v, lower: lo !== undefined && Number.isFinite(lo) ? lo : null, upper: hi !== undefined && Number.isFinite(hi) ? hi : null });
    });
  }
  return rows;
}

function leadChart(card: Scorecard, title: string, yTitle: string, rows: ReturnType<typeof leadRows>, rule?: number): object {
  const colour = { field: 'arm', type: 'nominal', scale: armColours(card), title: null };
  const x = { field: 'lead', type: 'quantitative', title: card.leads.title };
  return {
    $schema: SCHEMA, title, width: 480, height: 280, background: 'white',
    data: { values: rows },
    layer: [
      { mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'lower', type: 'quantitative', title: yTitle }, y2: { field: 'upper' }, color: colour } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } }, color: colour } },
      ...(rule !== undefined ? [{ data: { values: [{ y: rule }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'grey' }, encoding: { y: { field: 'y', type: 'quantitative' } } }] : []),
    ],
  };
}

/** CRPS vs lead, one line per arm (fair CRPS; MAE for one-member arms), with the bootstrap intervals. */
export function crpsSpec(card: Scorecard, variable: string, region = 'global'): object {
  const u = card.variables.find((v) => v.variable === variable)?.units;
  return leadChart(card, `${variable}: CRPS vs lead (${region})`, `fair CRPS${u ? ` (${u})` : ''}`, leadRows(card, variable, region, (s) => {
    const fair = s.crpsFair !== null;
    return { v: mainCrps(s), lo: fair ? s.ci?.crpsFair?.lower : s.ci?.crps.lower, hi: fair ? s.ci?.crpsFair?.upper : s.ci?.crps.upper };
  }));
}

/** Ensemble-mean RMSE vs lead, one line per arm, with the bootstrap intervals. */
export function rmseSpec(card: Scorecard, variable: string, region = 'global'): object {
  const u = card.variables.find((v) => v.variable === variable)?.units;
  return leadChart(card, `${variable}: ensemble-mean RMSE vs lead (${region})`, `RMSE${u ? ` (${u})` : ''}`, leadRows(card, variable, region, (s) => ({ v: s.rmse, lo: s.ci?.rmse.lower, hi: s.ci?.rmse.upper })));
}

/** Spread/skill vs lead for the ensemble arms, with a dashed line at 1 (calibrated). */
export function spreadSkillSpec(card: Scorecard, variable: string, region = 'global'): object {
  return leadChart(card, `${variable}: spread/skill vs lead (${region})`, 'sqrt((M+1)/M) spread / RMSE',
    leadRows(card, variable, region, (s) => ({ v: s.spreadSkill, lo: s.ci?.spreadSkill?.lower, hi: s.ci?.spreadSkill?.upper })), 1);
}

/** Rank histograms (pooled over leads) of the ensemble arms: one panel of bars per arm, a dashed line at 1/(M+1). */
export function rankHistogramSpec(card: Scorecard, variable: string, region = 'global'): object {
  const r = regionOf(card, variable, region);
  const rows = r.arms.filter((a) => a.scores.members >= 2).flatMap((a) => a.scores.rankHistogram.pooled.frequencies.map((fq, k) => ({
    arm: a.arm, rank: k, frequency: Number.isFinite(fq) ? fq : 0, expected: 1 / (a.scores.members + 1),
  })));
  return {
    $schema: SCHEMA, title: `${variable}: rank histograms (${region}, pooled over leads)`, background: 'white',
    data: { values: rows },
    facet: { field: 'arm', type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 200, height: 140,
      layer: [
        { mark: 'bar', encoding: { x: { field: 'rank', type: 'ordinal', title: 'rank of the truth' }, y: { field: 'frequency', type: 'quantitative', title: 'frequency' },
          color: { field: 'arm', type: 'nominal', scale: armColours(card), legend: null } } },
        { mark: { type: 'rule', strokeDash: [4, 4], color: 'grey' }, encoding: { y: { field: 'expected', type: 'quantitative', aggregate: 'mean' } } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  };
}
