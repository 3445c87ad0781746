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

/**
 * A bar showing step, loss, samples/s and ETA; pass `bar.onProgress` as TrainOptions.onProgress. When the stream is
 * not a terminal (a log file, CI) it writes the same fields as a plain line every `logSeconds` instead (cli-progress's
 * own timer would never fire while a synchronous training step holds the event loop).
 */
export function progressBar(options: { stream?: NodeJS.WritableStream; logSeconds?: number } = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  const fields = (p: TrainProgress) => ({ loss: p.loss === null ? 'nan' : p.loss.toPrecision(4), sps: p.samplesPerSecond.toFixed(1), remaining: formatEta(p.etaSeconds) });
  if (!tty) {
    const every = (options.logSeconds ?? 10) * 1000;
    let last = -Infinity;
    let pending: TrainProgress | null = null;
    const line = (p: TrainProgress) => {
      const f = fields(p);
      stream.write(`train step ${p.step}/${p.totalSteps ?? '?'} | loss ${f.loss} | ${f.sps} samples/s | ETA ${f.remaining}\n`);
    };
    return {
      onProgress(p) {
        pending = p;
        if (Date.now() - last >= every) { line(p); last = Date.now(); pending = null; }
      },
      stop() { if (pending) line(pending); pending = null; },
    };
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

/**
 * A bar counting to `total` (sampler steps, frames) with rate and ETA; not on a terminal, a plain line every
 * `logSeconds` and one on stop.
 */
export function countBar(label: string, total: number, options: { unit?: string; stream?: NodeJS.WritableStream; logSeconds?: number } = {}): CountBar {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? 'steps';
  if ((stream as { isTTY?: boolean }).isTTY !== true) {
    const every = (options.logSeconds ?? 10) * 1000;
    const t0 = Date.now();
    let last = t0;
    let value = 0;
    const line = () => {
      const s = (Date.now() - t0) / 1000;
      const rate = value / Math.max(s, 1e-9);
      stream.write(`${label} ${value}/${total} ${unit} | ${rate.toFixed(2)} ${unit}/s | ETA ${formatEta(rate > 0 ? (total - value) / rate : null)}\n`);
    };
    return {
      update(v) { value = v; if (Date.now() - last >= every) { line(); last = Date.now(); } },
      stop() { line(); },
    };
  }
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`, stream, hideCursor: true, etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  const t0 = Date.now();
  bar.start(total, 0, { rate: '0.00' });
  return {
    update(v) { bar.update(v, { rate: (v / Math.max((Date.now() - t0) / 1000, 1e-9)).toFixed(2) }); },
    stop() { bar.stop(); },
  };
}
