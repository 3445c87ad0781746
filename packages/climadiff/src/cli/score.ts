// `climadiff score`: ensemble files (the tasks' output, or other models' ensembles) scored against a truth file, with
// baselines, into a scorecard folder (run/score.ts).
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { DataError } from '../data/types.js';
import { scoreFiles, SCORE_REGIONS } from '../run/score.js';
import { BASELINE_NAMES } from '../run/score-baselines.js';
import { fmt } from '../eval/scorecard.js';
import { countBar, type CountBar } from '../train/progress.js';
import { addSelectionOptions, intOption, positiveInt, selectionFromFlags, type SelectionFlags } from './options.js';

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];
const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

/** --forecast [LABEL=]FILE: a label when the text before '=' is a plain name and the whole text is not a file. */
export function parseForecastArgs(args: string[]): { label: string; path: string }[] {
  const out = args.map((a, i) => {
    const m = /^([^=/]+)=(.+)$/.exec(a); // LABEL=FILE (a label holds no = or /)
    if (m && !existsSync(a)) return { label: m[1]!, path: m[2]! };
    return { label: i === 0 ? 'climadiff' : basename(a, extname(a)), path: a };
  });
  const seen = new Set<string>();
  for (const f of out) {
    if (seen.has(f.label)) throw new DataError('bad-option', `two --forecast files are labelled '${f.label}'; label them with LABEL=FILE`);
    seen.add(f.label);
  }
  return out;
}

function baselinesOption(v: string): string[] | 'auto' {
  const t = v.trim();
  if (t === 'auto') return 'auto';
  if (t === 'none') return [];
  const names = list(t);
  for (const n of names) if (!(n in BASELINE_NAMES)) throw new InvalidArgumentError(`expected auto, none or a list of ${Object.keys(BASELINE_NAMES).join(', ')}; got '${n}'`);
  return names;
}

function trainOption(v: string): [string, string] {
  const parts = list(v);
  if (parts.length !== 2) throw new InvalidArgumentError("expected FROM,TO (dates such as 1990-01-01,2009-12-31)");
  return [parts[0]!, parts[1]!];
}

export function register(program: Command): void {
  const cmd = program.command('score')
    .description('score ensemble files (climadiff tasks or other models) against a truth file, with baselines: fair CRPS, RMSE, spread/skill, rank histograms, Brier/FSS, bootstrap CIs -> a scorecard folder')
    .requiredOption('--forecast <[label=]file>', 'ensemble file to score (repeatable; the first is labelled "climadiff" unless labelled)', collect)
    .requiredOption('--truth <files>', "NetCDF/Zarr data with the true (time, lat, lon) fields: one file, a comma-separated list, a quoted glob or a directory")
    .requiredOption('--out <dir>', 'scorecard folder (scorecard.md, scorecard.json, charts, maps)')
    .option('--variables <list>', 'comma-separated variables (default: every ensemble variable of the first file)', list)
    .option('--baselines <spec>', `auto (by task) | none | comma-separated list of ${Object.keys(BASELINE_NAMES).join(', ')}`, baselinesOption, 'auto' as string[] | 'auto')
    .option('--train <from,to>', 'training period (inclusive dates) for the climatology and AR(1) baselines (default: every truth step before the first verified frame minus one case span)', trainOption)
    .option('--regions <list>', `regions besides global: ${SCORE_REGIONS.join(', ')}`, list)
    .option('--bootstrap <n>', 'bootstrap resamples of the cases for the confidence intervals (0: none)', intOption(0), 1000)
    .option('--seed <s>', 'seed of the bootstrap and the damped-persistence members', intOption(0), 0)
    .option('--members <m>', 'members of the damped-persistence baseline', positiveInt, 16)
    .option('--reference <label>', "reference of the CRPS skill score: a forecast's label or a baseline (default climatology); its interval is a paired bootstrap")
    .option('--overwrite', 'replace an existing output folder');
  addSelectionOptions(cmd, "the truth's part on the forecasts' grid (default: the selection the forecast file records from its model's run)")
    .action(async (o: { forecast: string[]; truth: string; out: string; variables?: string[]; baselines: string[] | 'auto'; train?: [string, string]; regions?: string[];
      bootstrap: number; seed: number; members: number; reference?: string; overwrite?: boolean } & SelectionFlags) => {
      const flags = selectionFromFlags(o);
      const forecasts = parseForecastArgs(o.forecast);
      const progress: { bar: CountBar | null } = { bar: null };
      let card;
      try {
        card = await scoreFiles({
          forecasts, truth: o.truth, out: o.out, baselines: o.baselines, bootstrap: o.bootstrap, seed: o.seed, members: o.members, overwrite: o.overwrite ?? false,
          ...(o.reference ? { reference: o.reference } : {}), ...(Object.keys(flags).length ? { select: flags } : {}),
          ...(o.variables ? { variables: o.variables } : {}), ...(o.train ? { train: o.train } : {}), ...(o.regions ? { regions: o.regions } : {}),
          log: (m) => { if (!progress.bar) process.stderr.write(`${m}\n`); },
          onProgress: (done, total) => {
            progress.bar ??= countBar('score', total, { unit: 'scorings' });
            progress.bar.update(done);
            if (done === total) { progress.bar.stop(); progress.bar = null; }
          },
        });
      } finally {
        progress.bar?.stop();
      }
      const lines: string[] = [];
      for (const v of card.variables) {
        const g = v.regions.find((r) => r.region === 'global');
        if (!g) continue;
        lines.push(`${v.variable}${v.units ? ` (${v.units})` : ''}, global, mean over ${card.leads.values.length} ${card.leads.title.startsWith('lead') ? 'leads' : 'frames'}:`);
        const w = Math.max(4, ...g.summary.map((s) => s.arm.length));
        lines.push(`  ${'arm'.padEnd(w)}  ${'M'.padStart(3)}  ${'CRPS'.padStart(10)}  ${'RMSE'.padStart(10)}  ${'spread/skill'.padStart(12)}`);
        for (const s of g.summary) {
          lines.push(`  ${s.arm.padEnd(w)}  ${String(s.members).padStart(3)}  ${(fmt(s.crps) + (s.crpsKind === 'standard' ? '*' : '')).padStart(10)}  ${fmt(s.rmse).padStart(10)}  ${fmt(s.spreadSkill).padStart(12)}`);
        }
      }
      if (card.variables.some((v) => v.regions[0]?.summary.some((s) => s.crpsKind === 'standard'))) lines.push('  * one member: the CRPS is the mean absolute error');
      for (const n of [...card.notes, ...card.variables.flatMap((v) => v.notes.map((x) => `${v.variable}: ${x}`))]) lines.push(`note: ${n}`);
      lines.push(`wrote ${o.out}/: ${card.files.join(', ')}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
