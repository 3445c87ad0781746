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

/** A bar showing step, loss, samples/s and ETA; pass `bar.onProgress` as TrainOptions.onProgress. */
export function progressBar(options: { stream?: NodeJS.WritableStream } = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  const bar = new cliProgress.SingleBar({
    format: 'train [{bar}] step {value}/{total} | loss {loss} | {sps} samples/s | ETA {remaining}',
    stream, hideCursor: tty, clearOnComplete: false, etaBuffer: 50,
    // Not a terminal (a log file, CI): a plain line every 10 s instead of redraws.
    noTTYOutput: !tty, notTTYSchedule: 10_000,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    onProgress(p) {
      const payload = { loss: p.loss === null ? 'nan' : p.loss.toPrecision(4), sps: p.samplesPerSecond.toFixed(1), remaining: formatEta(p.etaSeconds) };
      const total = p.totalSteps ?? p.step + 1;
      if (!started) { bar.start(total, p.step, payload); started = true; } else { bar.setTotal(total); bar.update(p.step, payload); }
    },
    stop() { if (started) bar.stop(); },
  };
}
