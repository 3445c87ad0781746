// report.md: samples against held-out reference clips with the seed's diagnostics, each as a picture
// (vega-lite SVG charts; the bias map as a PNG through src/viz) and as a table of numbers.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePNG, renderFrames } from '../viz/index.js';
import { meanNormalisedBias, upperQuantileLevels, quantilesOfSorted, valueHistogram } from './diagnostics.js';
import { lagAutocorrelation, logLogSlope, radialPowerSpectrum, temporalSpectrum } from './spectra.js';
import { validValues, type ClipArray } from './clips.js';
import { autocorrelationSpec, histogramSpec, qqSpec, radialSpectrumSpec, temporalSpectrumSpec, vegaLiteToSVG } from './plots.js';

export interface ReportMeta {
  title: string;
  model?: string;
  steps?: number;
  [key: string]: unknown;
}

export interface ReportInput {
  variable: string;
  units?: string;
  /** Generated clips [N, F, H, W], physical units. */
  samples: ClipArray;
  /** Held-out clips [N', F', H, W], physical units. */
  reference: ClipArray;
  meta: ReportMeta;
  /** Markdown appended at the end. */
  extra?: string;
  /** Grid coordinates, for the bias map (north-up and coastlines when given). */
  lat?: ArrayLike<number>;
  lon?: ArrayLike<number>;
  /** Histogram bins (default 50). */
  bins?: number;
  /** Log-spaced value bins for the histogram. Default: automatic — on when all values are >= 0 and the
   *  reference is skewed (its 0.99 quantile exceeds 20 times its 0.5 quantile, e.g. precipitation). */
  logValues?: boolean;
  /** Quantile levels of the QQ plot (default 40 levels, 0.9 to 0.9999, log-spaced in 1 - q). */
  qqLevels?: number[];
  /** Largest lag of the autocorrelation (default F - 1 of the shorter clips, at most 16). */
  maxLag?: number;
}

const fmt = (v: number | undefined): string => {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
  return v.toPrecision(4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
};

function table(header: string[], rows: (string | number)[][]): string {
  const cell = (c: string | number) => (typeof c === 'number' ? fmt(c) : c);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** Writes report.md and its pictures into outDir; returns the paths of all files written. */
export async function writeReport(outDir: string, input: ReportInput): Promise<string[]> {
  const { samples, reference, variable, meta } = input;
  const units = input.units ?? '';
  const [, Fs, Hs, Ws] = samples.shape, [, Fr, Hr, Wr] = reference.shape;
  if (Hs !== Hr || Ws !== Wr) throw new Error(`writeReport: samples are ${Hs}x${Ws} cells, reference is ${Hr}x${Wr}`);
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, data: string | Uint8Array) => { const p = join(outDir, name); await writeFile(p, data); files.push(p); };

  // --- numbers
  const sv = validValues(samples).sort(), rv = validValues(reference).sort(); // sorted once for every quantile
  if (sv.length === 0 || rv.length === 0) throw new Error('writeReport: samples or reference have no valid values');
  const [r50, r99] = quantilesOfSorted(rv, [0.5, 0.99]);
  const minVal = Math.min(sv[0]!, rv[0]!);
  const logValues = input.logValues ?? (minVal >= 0 && r99! > 0 && r99! > 20 * r50!);
  const hist = valueHistogram(sv, rv, { bins: input.bins ?? 50, log: logValues, floor: logValues ? Math.max(1e-3 * r99!, Number.MIN_VALUE) : undefined });
  const qqLevels = input.qqLevels ?? upperQuantileLevels(40);
  const qq = { qs: [...qqLevels], sample: quantilesOfSorted(sv, qqLevels), reference: quantilesOfSorted(rv, qqLevels) };
  const tableQs = [0.9, 0.99, 0.999, 0.9999];
  const qs = quantilesOfSorted(sv, tableQs), qr = quantilesOfSorted(rv, tableQs);
  const bias = meanNormalisedBias(samples, reference);
  const ss = radialPowerSpectrum(samples), rs = radialPowerSpectrum(reference);
  const fitRange = (x: typeof ss) => {
    const k = x.cyclesPerCell.slice(1, x.nyquistBin + 1), p = x.power.slice(1, x.nyquistBin + 1);
    return logLogSlope(k, p);
  };
  const slopeS = fitRange(ss), slopeR = fitRange(rs);
  const Fmin = Math.min(Fs, Fr);
  const maxLag = Math.min(input.maxLag ?? Math.min(16, Fmin - 1), Fmin - 1);
  const ts = temporalSpectrum(samples), tr = temporalSpectrum(reference);
  const as = lagAutocorrelation(samples, maxLag), ar = lagAutocorrelation(reference, maxLag);
  const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
  const std = (a: Float64Array, m: number) => Math.sqrt(a.reduce((x, y) => x + (y - m) ** 2, 0) / a.length);
  const ms = mean(sv), mr = mean(rv);

  // --- pictures
  const u = units ? ` (${units})` : '';
  await put('histogram.svg', await vegaLiteToSVG(histogramSpec(hist, { units, logX: logValues, title: `${variable}: value histogram` })));
  await put('qq.svg', await vegaLiteToSVG(qqSpec(qq, { units, log: logValues && qq.reference[0]! > 0 && qq.sample[0]! > 0, title: `${variable}: upper quantiles ${fmt(qq.qs[0])} to ${fmt(qq.qs[qq.qs.length - 1])}` })));
  const anim = renderFrames(
    { height: bias.height, width: bias.width, frames: [Float32Array.from(bias.map)], lat: input.lat, lon: input.lon, title: `${variable} relative bias`, units: 'rel.' },
    { colormap: 'coolwarm', centre: 0 },
  );
  await put('bias.png', encodePNG(anim));
  await put('spatial-spectrum.svg', await vegaLiteToSVG(radialSpectrumSpec(ss, rs, { title: `${variable}: radially averaged spatial power spectrum` })));
  const hasTemporal = Fmin > 1;
  if (hasTemporal) {
    await put('temporal-spectrum.svg', await vegaLiteToSVG(temporalSpectrumSpec(ts, tr, { title: `${variable}: temporal power spectrum per cell` })));
    await put('autocorrelation.svg', await vegaLiteToSVG(autocorrelationSpec(as, ar, { title: `${variable}: lag autocorrelation` })));
  }

  // --- numbers as JSON
  const numbers = {
    variable, units, meta,
    counts: { samples: sv.length, reference: rv.length, sampleShape: [...samples.shape], referenceShape: [...reference.shape] },
    moments: { sampleMean: ms, referenceMean: mr, sampleStd: std(sv, ms), referenceStd: std(rv, mr) },
    histogram: hist,
    qq,
    quantiles: { qs: tableQs, sample: qs, reference: qr },
    bias: { meanAbs: bias.meanAbs, mean: bias.mean, rms: bias.rms, r2: bias.r2, corr2: bias.corr2, definedCells: bias.definedCells },
    spatialSpectrum: { sample: ss, reference: rs, slopeSample: slopeS, slopeReference: slopeR },
    temporalSpectrum: { sample: ts, reference: tr },
    autocorrelation: { sample: as, reference: ar },
  };
  await put('diagnostics.json', JSON.stringify(numbers, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1));

  // --- markdown
  const md: string[] = [];
  md.push(`# ${meta.title}`, '');
  const metaRows: (string | number)[][] = [['variable', `${variable}${u}`]];
  for (const [k, v] of Object.entries(meta)) if (k !== 'title' && v !== undefined) metaRows.push([k, typeof v === 'number' ? v : typeof v === 'string' ? v : JSON.stringify(v)]);
  metaRows.push(['sample clips', `${samples.shape[0]} x ${Fs} frames of ${Hs}x${Ws} (${sv.length} values)`]);
  metaRows.push(['reference clips (held out)', `${reference.shape[0]} x ${Fr} frames of ${Hr}x${Wr} (${rv.length} values)`]);
  md.push(table(['', ''], metaRows), '');
  md.push('Diagnostics of the seed\'s final evaluation protocol; samples in red, held-out reference in blue. All numbers are also in `diagnostics.json`.', '');
  md.push(table(['', 'samples', 'reference'], [['mean', ms, mr], ['standard deviation', std(sv, ms), std(rv, mr)]]), '');

  md.push('## Value histogram', '', '![value histogram](histogram.svg)', '');
  md.push(`Densities on ${logValues ? 'log-spaced' : 'linear'} bins common to both series, log density axis.` + (logValues ? ` Values at or below ${fmt(hist.edges[0])} ${units} (e.g. dry cells) are left out of the bins: ${fmt(100 * hist.sampleBelow)}% of samples, ${fmt(100 * hist.referenceBelow)}% of reference.` : ''), '');

  md.push('## Upper quantiles (QQ)', '', '![QQ plot](qq.svg)', '');
  const enough = (q: number, n: number) => n * (1 - q) >= 10;
  md.push(table(['quantile', `samples${u}`, `reference${u}`, 'ratio samples / reference'], tableQs.map((q, i) => [
    String(q), enough(q, sv.length) ? qs[i]! : `${fmt(qs[i])} (few values)`, enough(q, rv.length) ? qr[i]! : `${fmt(qr[i])} (few values)`, qs[i]! / qr[i]!,
  ])), '');
  md.push(`The plot shows ${qq.qs.length} levels log-spaced in 1 - q with the 1:1 line. "(few values)": fewer than 10 values lie above that level.`, '');

  md.push('## Mean-normalised bias', '', '![bias map](bias.png)', '');
  md.push('Per cell, (sample mean - test mean) / test mean over all clips and frames; diverging colours centred at 0, grey where the test mean is 0 or missing.', '');
  md.push(table(['summary', 'value'], [
    ['mean absolute bias', bias.meanAbs], ['mean bias', bias.mean], ['rms bias', bias.rms],
    ['R^2 of sample-mean map vs test-mean map (1 - SS_res/SS_tot)', bias.r2], ['squared correlation of the mean maps', bias.corr2],
    ['cells with a defined bias', `${bias.definedCells} of ${bias.height * bias.width}`],
  ]), '');

  md.push('## Spatial power spectrum', '', '![radial power spectrum](spatial-spectrum.svg)', '');
  md.push(`Power \`|FFT2|^2 / (HW)^2\` per frame, radially binned by integer wavenumber of the longer side (L = ${Math.max(Hs, Ws)}; grid spacing taken equal in both directions) and averaged over bins and frames. Slope: least-squares fit of log power against log wavenumber over bins 1..${ss.nyquistBin}.`, '');
  const pick = [1, 2, 4, 8, 16, 32, 64].filter((k) => k <= ss.nyquistBin);
  md.push(table(['', 'samples', 'reference', 'ratio'], [
    ['log-log slope', slopeS, slopeR, slopeS / slopeR],
    ...pick.map((k) => [`power at k = ${k} (wavelength ${fmt(Math.max(Hs, Ws) / k)} cells)`, ss.power[k]!, rs.power[k]!, ss.power[k]! / rs.power[k]!]),
  ]), '');

  md.push('## Temporal structure', '');
  if (hasTemporal) {
    md.push('![temporal power spectrum](temporal-spectrum.svg)', '', '![lag autocorrelation](autocorrelation.svg)', '');
    md.push('Temporal spectrum: per cell and clip, the series along frames minus its mean, `|FFT|^2 / F^2` one-sided, averaged. Autocorrelation: pooled over clips and cells around each cell\'s mean.', '');
    const lags = as.lag.filter((l) => l >= 1 && (l <= 4 || l === maxLag));
    md.push(table(['lag (frames)', 'samples', 'reference'], lags.map((l) => [String(l), as.acf[l]!, ar.acf[l]!])), '');
    const fr = ts.frequency.map((f, i) => [fmt(f), ts.power[i]!, tr.frequency[i] === f ? tr.power[i]! : 'n/a'] as (string | number)[]);
    if (Fs === Fr) md.push(table(['frequency (cycles/frame)', 'samples power', 'reference power'], fr.slice(1)), '');
  } else {
    md.push('Clips have a single frame: no temporal diagnostics.', '');
  }
  if (input.extra) md.push(input.extra.trim(), '');
  await put('report.md', md.join('\n'));
  return files;
}
