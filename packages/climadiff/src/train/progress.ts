// A ready-made terminal progress bar (cli-progress) for Trainer's onProgress callback.
import cliProgress from 'cli-progress';
import type { TrainProgress } from './trainer.js';

export interface ProgressBar {
  onProgress: (p: TrainProgress) => void;
  stop: () => void;
}

function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--';
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}

const isTerminal = (stream: NodeJS.WritableStream): boolean => (stream as { isTTY?: boolean }).isTTY === true;

/**
 * Progress for a stream that is not a terminal (a log file, CI): `tick` writes the current line at once and then at
 * most every `seconds`, `flush` writes the latest state if it is not written yet. cli-progress's own timer would
 * never fire while a synchronous step holds the event loop.
 */
function plainLines(stream: NodeJS.WritableStream, seconds: number, render: () => string): { tick: () => void; flush: () => void } {
  let last = -Infinity;
  let unwritten = false;
  const write = (): void => { stream.write(`${render()}\n`); last = Date.now(); unwritten = false; };
  return {
    tick() { unwritten = true; if (Date.now() - last >= seconds * 1000) write(); },
    flush() { if (unwritten) write(); },
  };
}

/**
 * A bar showing step, loss, samples/s and ETA; pass `bar.onProgress` as TrainOptions.onProgress. Not on a terminal,
 * the same fields as a plain line every `logSeconds` (default 10) and the last one on stop.
 */
export function progressBar(options: { stream?: NodeJS.WritableStream; logSeconds?: number } = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const fields = (p: TrainProgress) => ({ loss: p.loss === null ? 'nan' : p.loss.toPrecision(4), sps: p.samplesPerSecond.toFixed(1), remaining: formatEta(p.etaSeconds) });
  if (!isTerminal(stream)) {
    let p: TrainProgress | null = null;
    const lines = plainLines(stream, options.logSeconds ?? 10, () => {
      const f = fields(p!);
      return `train step ${p!.step}/${p!.totalSteps ?? '?'} | loss ${f.loss} | ${f.sps} samples/s | ETA ${f.remaining}`;
    });
    return { onProgress(q) { p = q; lines.tick(); }, stop: lines.flush };
  }
  const bar = new cliProgress.SingleBar({
    format: 'train [{bar}] step {value}/{total} | loss {loss} | {sps} samples/s | ETA {remaining}',
    stream, hideCursor: true, clearOnComplete: false, etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    onProgress(p) {
      const payload = fields(p);
      const total = p.totalSteps ?? p.step + 1;
      if (!started) { bar.start(total, p.step, payload); started = true; } else { bar.setTotal(total); bar.update(p.step, payload); }
    },
    stop() { if (started) bar.stop(); started = false; },
  };
}

export interface CountBar {
  update: (value: number) => void;
  stop: () => void;
}

/** A bar counting to `total` (sampler steps, frames) with rate and ETA; plain lines when not on a terminal. */
export function countBar(label: string, total: number, options: { unit?: string; stream?: NodeJS.WritableStream; logSeconds?: number } = {}): CountBar {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? 'steps';
  const t0 = Date.now();
  // no rate before any time has passed (a bar made at its first update would show a billion steps/s)
  const rate = (v: number): number => {
    const s = (Date.now() - t0) / 1000;
    return s < 0.05 ? Number.NaN : v / s;
  };
  const show = (r: number): string => (Number.isFinite(r) ? r.toFixed(2) : '-');
  if (!isTerminal(stream)) {
    let value = 0;
    const lines = plainLines(stream, options.logSeconds ?? 10, () => {
      const r = rate(value);
      return `${label} ${value}/${total} ${unit} | ${show(r)} ${unit}/s | ETA ${formatEta(r > 0 ? (total - value) / r : null)}`;
    });
    return { update(v) { value = v; lines.tick(); }, stop: lines.flush };
  }
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`, stream, hideCursor: true, etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0, { rate: '0.00' });
  return {
    update(v) { bar.update(v, { rate: show(rate(v)) }); },
    stop() { bar.stop(); },
  };
}
