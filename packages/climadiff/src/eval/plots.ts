// Charts of the diagnostics as SVG, drawn with vega-lite (compiled to vega, rendered headless with
// renderer 'none'). Each function returns the SVG text.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { HistogramResult, QQResult } from './diagnostics.js';
import type { RadialSpectrum, TemporalSpectrum } from './spectra.js';

const SAMPLE = 'samples', REFERENCE = 'reference';
const COLOURS = { domain: [SAMPLE, REFERENCE], range: ['#d62728', '#1f77b4'] };

/** Renders a vega-lite spec to SVG text. */
export async function vegaLiteToSVG(spec: object): Promise<string> {
  const compiled = vl.compile(spec as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const base = (title: string) => ({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width: 420, height: 280, background: 'white' });
const finite = (v: number) => Number.isFinite(v);

/** Histogram densities of both series as step lines on a log density axis (log value axis when the bins are log-spaced). */
export function histogramSpec(h: HistogramResult, o: { units?: string; logX?: boolean; title?: string } = {}): object {
  const rows: { value: number; density: number; series: string }[] = [];
  const push = (dens: number[], series: string) => dens.forEach((d, i) => {
    // a point at the centre of each bin (geometric centre for log bins); zero densities cannot go on a log axis
    const c = o.logX ? Math.sqrt(h.edges[i]! * h.edges[i + 1]!) : (h.edges[i]! + h.edges[i + 1]!) / 2;
    if (d > 0 && finite(c)) rows.push({ value: c, density: d, series });
  });
  push(h.sampleDensity, SAMPLE); push(h.referenceDensity, REFERENCE);
  return {
    ...base(o.title ?? 'Value histogram'),
    data: { values: rows },
    mark: { type: 'line', point: true, interpolate: 'step' },
    encoding: {
      x: { field: 'value', type: 'quantitative', title: o.units ? `value (${o.units})` : 'value', scale: o.logX ? { type: 'log' } : { zero: false } },
      y: { field: 'density', type: 'quantitative', title: 'density (log)', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', scale: COLOURS, title: null },
    },
  };
}

/** Sample against reference upper quantiles with the 1:1 line. */
export function qqSpec(q: QQResult, o: { units?: string; log?: boolean; title?: string } = {}): object {
  const pts = q.qs.map((lvl, i) => ({ q: lvl, reference: q.reference[i]!, sample: q.sample[i]! })).filter((p) => finite(p.reference) && finite(p.sample) && (!o.log || (p.reference > 0 && p.sample > 0)));
  const all = pts.flatMap((p) => [p.reference, p.sample]);
  const lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
  const u = o.units ? ` (${o.units})` : '';
  const scale = o.log ? { type: 'log' } : { zero: false };
  return {
    ...base(o.title ?? 'QQ plot of upper quantiles'),
    layer: [
      { data: { values: [{ reference: lo, sample: lo }, { reference: hi, sample: hi }] }, mark: { type: 'line', color: 'grey', strokeDash: [4, 4] },
        encoding: { x: { field: 'reference', type: 'quantitative', scale }, y: { field: 'sample', type: 'quantitative', scale } } },
      { data: { values: pts }, mark: { type: 'point', filled: true, color: '#d62728' },
        encoding: { x: { field: 'reference', type: 'quantitative', title: `reference quantile${u}`, scale }, y: { field: 'sample', type: 'quantitative', title: `sample quantile${u}`, scale }, tooltip: [{ field: 'q', type: 'quantitative' }] } },
    ],
  };
}

/** Radially averaged spatial power spectra of both series, log-log, bins 1..Nyquist. */
export function radialSpectrumSpec(s: RadialSpectrum, r: RadialSpectrum, o: { title?: string } = {}): object {
  const rows: { k: number; power: number; series: string }[] = [];
  const push = (x: RadialSpectrum, series: string) => { for (let k = 1; k <= x.nyquistBin && k < x.power.length; k++) if (x.power[k]! > 0) rows.push({ k: x.cyclesPerCell[k]!, power: x.power[k]!, series }); };
  push(s, SAMPLE); push(r, REFERENCE);
  return {
    ...base(o.title ?? 'Radially averaged spatial power spectrum'),
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'k', type: 'quantitative', title: 'wavenumber (cycles per grid cell)', scale: { type: 'log' } },
      y: { field: 'power', type: 'quantitative', title: 'power', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', scale: COLOURS, title: null },
    },
  };
}

/** One-sided temporal power spectra of both series, log-log, frequencies > 0. */
export function temporalSpectrumSpec(s: TemporalSpectrum, r: TemporalSpectrum, o: { title?: string } = {}): object {
  const rows: { f: number; power: number; series: string }[] = [];
  const push = (x: TemporalSpectrum, series: string) => x.frequency.forEach((f, i) => { if (f > 0 && x.power[i]! > 0) rows.push({ f, power: x.power[i]!, series }); });
  push(s, SAMPLE); push(r, REFERENCE);
  return {
    ...base(o.title ?? 'Temporal power spectrum (per cell, averaged)'),
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'f', type: 'quantitative', title: 'frequency (cycles per frame)', scale: { type: 'log' } },
      y: { field: 'power', type: 'quantitative', title: 'power', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', scale: COLOURS, title: null },
    },
  };
}

/** Lag autocorrelation of both series. */
export function autocorrelationSpec(s: { lag: number[]; acf: number[] }, r: { lag: number[]; acf: number[] }, o: { title?: string } = {}): object {
  const rows: { lag: number; acf: number; series: string }[] = [];
  s.lag.forEach((l, i) => { if (finite(s.acf[i]!)) rows.push({ lag: l, acf: s.acf[i]!, series: SAMPLE }); });
  r.lag.forEach((l, i) => { if (finite(r.acf[i]!)) rows.push({ lag: l, acf: r.acf[i]!, series: REFERENCE }); });
  return {
    ...base(o.title ?? 'Lag autocorrelation along frames'),
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'lag', type: 'quantitative', title: 'lag (frames)' },
      y: { field: 'acf', type: 'quantitative', title: 'autocorrelation' },
      color: { field: 'series', type: 'nominal', scale: COLOURS, title: null },
    },
  };
}
