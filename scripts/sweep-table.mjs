// The table of scripts/sampler-sweep from what exists in its output folder (each arm's scorecard, paired with the reference): per task and variable, each arm's network
// evaluations per sample, wall time, CRPS and RMSE (mean over leads), and the worst lead's CRPS and RMSE ratio to
// ancestral-1,000 with the upper end of its paired 95% bootstrap interval (the acceptance bar: <= 1.02 at every
// lead); then the unconditional diagnostics of each arm's samples (acceptance rows of the sample report).
//   node scripts/sweep-table.mjs OUT   (Markdown on stdout, sweep.json beside it)
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out || !existsSync(out)) {
  process.stderr.write('usage: node scripts/sweep-table.mjs OUT (the folder of scripts/sampler-sweep)\n');
  process.exit(2);
}
const HEUN = new Set(['edm', 'ode']);
const BAR = 1.02;

/**
 * sampler, steps and NFE per sample (per window) of an arm label: 'anc1000', 'anc1000-seed1', 'dpm++2m-20', 'edm-15';
 * a '-fp32' suffix marks the precision check (the arm again in fp32), which is shown but not counted for its sampler.
 */
function armInfo(label) {
  if (label.endsWith('-fp32')) { const base = armInfo(label.slice(0, -5)); return { ...base, sampler: `${base.sampler} (fp32)` }; }
  const anc = /^anc(\d+)(-seed\d+)?$/.exec(label);
  if (anc) return { sampler: 'ancestral', nfe: Number(anc[1]), order: -1 };
  const m = /^(.*)-(\d+)$/.exec(label);
  if (!m) return { sampler: label, nfe: NaN, order: 0 };
  const n = Number(m[2]);
  const steps = HEUN.has(m[1]) ? Math.floor((n + 1) / 2) : n;
  return { sampler: m[1], nfe: HEUN.has(m[1]) ? 2 * steps - 1 : steps, order: 0 };
}

/** 'N network evaluations (B with a backward pass for guidance) in S s' of a task log. */
function cost(logFile) {
  if (!existsSync(logFile)) return null;
  const m = /(\d+) network evaluations \((\d+) with a backward pass for guidance\) in ([\d.]+) s/.exec(readFileSync(logFile, 'utf8'));
  return m ? { forward: Number(m[1]), backward: Number(m[2]), seconds: Number(m[3]) } : null;
}

const f3 = (v) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(3));
const f4 = (v) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toPrecision(4));
const md = [];
const summary = { tasks: {}, samples: {} };

/** The per-arm scorecards of a task (OUT/TASK-score/ARM/scorecard.json: the arm paired with the reference). */
function armCards(task) {
  const dir = join(out, `${task}-score`);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => existsSync(join(dir, d, 'scorecard.json'))).sort()
    .map((d) => ({ arm: d, card: JSON.parse(readFileSync(join(dir, d, 'scorecard.json'), 'utf8')) }));
}

for (const task of ['forecast', 'interpolate']) {
  const cards = armCards(task);
  if (!cards.length) continue;
  const head = cards[0].card;
  const refs = new Set(cards.map((c) => c.card.reference)), cases = new Set(cards.map((c) => (c.card.caseDates ?? []).join(',')));
  if (refs.size > 1 || cases.size > 1) throw new Error(`sweep-table: the ${task} scorecards do not share one reference and one set of cases`);
  md.push(`## ${task}: ${head.caseDates?.length ?? '?'} cases, reference ${head.reference}`, '');
  summary.tasks[task] = {};
  for (const v of head.variables) {
    const rows = cards.map(({ arm, card }) => {
      const g = card.variables.find((x) => x.variable === v.variable)?.regions.find((r) => r.region === 'global');
      const a = g?.arms.find((x) => x.arm === arm);
      if (!a) throw new Error(`sweep-table: ${task}-score/${arm} has no global ${v.variable} scores of ${arm}`);
      const s = a.scores, info = armInfo(a.arm), c = cost(join(out, `${task}-${a.arm}.log`));
      const ratio = (s.crpsSkill ?? []).map((k) => 1 - k);
      const ratioHi = (s.ci?.crpsSkill?.lower ?? []).map((k) => 1 - k);
      const rr = s.rmseRatio ?? [], rrHi = s.ci?.rmseRatio?.upper ?? [];
      const worst = (vals, his) => vals.reduce((w, x, i) => (his[i] > w.hi ? { v: x, hi: his[i], lead: i } : w), { v: NaN, hi: -Infinity, lead: -1 });
      const crps = s.crpsFair ?? s.crps;
      const row = {
        arm: a.arm, sampler: info.sampler, nfe: info.nfe, seconds: c?.seconds ?? null, forward: c?.forward ?? null,
        crps: crps.reduce((x, y) => x + y, 0) / crps.length, rmse: s.rmse.reduce((x, y) => x + y, 0) / s.rmse.length,
        spreadSkill: s.spreadSkill ? s.spreadSkill.reduce((x, y) => x + y, 0) / s.spreadSkill.length : null,
        crpsRatio: worst(ratio, ratioHi), rmseRatio: worst(rr, rrHi),
      };
      row.passes = task === 'forecast' ? row.crpsRatio.hi <= BAR : row.rmseRatio.hi <= BAR && row.crpsRatio.hi <= BAR;
      return row;
    });
    rows.sort((a, b) => (a.sampler === b.sampler ? a.nfe - b.nfe : a.sampler === 'ancestral' ? -1 : b.sampler === 'ancestral' ? 1 : a.sampler < b.sampler ? -1 : 1));
    const ref = rows.find((r) => r.arm === head.reference);
    md.push(`### ${v.variable}${v.units ? ` (${v.units})` : ''}`, '');
    md.push('| arm | NFE / sample | wall time (s) | time vs reference | CRPS | RMSE | spread/skill | worst-lead CRPS ratio (95% upper) | worst-lead RMSE ratio (95% upper) | within 2% |');
    md.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      const rel = ref?.seconds && r.seconds ? (r.seconds / ref.seconds).toFixed(3) : 'n/a';
      md.push(`| ${r.arm} | ${r.nfe} | ${r.seconds ?? 'n/a'} | ${rel} | ${f4(r.crps)} | ${f4(r.rmse)} | ${f3(r.spreadSkill)} | ${f3(r.crpsRatio.v)} (${f3(r.crpsRatio.hi)}) | ${f3(r.rmseRatio.v)} (${f3(r.rmseRatio.hi)}) | ${r.arm === head.reference ? 'reference' : r.passes ? 'yes' : 'no'} |`);
    }
    md.push('');
    // the first NFE at which each sampler meets the bar
    const first = {};
    for (const r of rows) if (r.sampler !== 'ancestral' && !r.sampler.endsWith('(fp32)') && r.passes && !(r.sampler in first)) first[r.sampler] = r.nfe;
    md.push(`First NFE within 2% of ${head.reference} at every lead: ${Object.keys(first).length ? Object.entries(first).map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}.`, '');
    summary.tasks[task][v.variable] = { rows, firstPassing: first };
  }
}

const sampleDirs = readdirSync(out).filter((d) => d.startsWith('sample-') && existsSync(join(out, d, 'weather.json'))).sort();
if (sampleDirs.length) {
  md.push('## Unconditional samples: acceptance rows of the sample report (measured; pass or not)', '');
  const all = sampleDirs.map((d) => ({ arm: d.slice('sample-'.length), w: JSON.parse(readFileSync(join(out, d, 'weather.json'), 'utf8')) }));
  for (const variable of all[0].w.verdicts.map((x) => x.variable)) {
    const names = all[0].w.verdicts.find((x) => x.variable === variable).rows.map((r) => r.name);
    md.push(`### ${variable}`, '', `| arm | ${names.join(' | ')} |`, `| --- | ${names.map(() => '---').join(' | ')} |`);
    for (const a of all) {
      const rows = a.w.verdicts.find((x) => x.variable === variable)?.rows ?? [];
      md.push(`| ${a.arm} | ${names.map((n) => { const r = rows.find((x) => x.name === n); return r ? `${r.measured}${r.pass ? '' : ' (fails)'}` : 'n/a'; }).join(' | ')} |`);
      (summary.samples[a.arm] ??= {})[variable] = rows;
    }
    md.push('');
  }
}
writeFileSync(join(out, 'sweep.json'), JSON.stringify(summary, null, 1));
process.stdout.write(`${md.join('\n')}\n`);
