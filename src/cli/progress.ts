/** The CLI's progress line on stderr and its Ctrl-C handling, for every long command. */
import type { EpochMetrics } from '../core/run/format';

/** What a long command reports: a phase, a line, and for training the epoch just finished. */
export interface Progress {
  phase: string;
  message: string;
  fraction?: number;
  epoch?: { epoch: number; epochs: number; metrics: EpochMetrics; etaMs: number };
  /** Printed before the line, e.g. "layer 6 (7/12)". */
  prefix?: string;
  /** Time left of the whole command (a scan's), printed after the line. */
  totalEtaMs?: number;
}

const BAR = 24;

export function duration(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function phaseLine(p: Progress): string {
  if (p.phase === 'train' && p.epoch) {
    const { epoch, epochs, metrics, etaMs } = p.epoch;
    const filled = Math.round((BAR * epoch) / epochs);
    return `train [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] epoch ${epoch}/${epochs}  loss ${metrics.loss.toExponential(3)}  FVE ${metrics.fve.toFixed(3)}  ETA ${duration(etaMs)}`;
  }
  const pct = p.fraction === undefined ? '' : ` ${Math.floor(100 * p.fraction)}%`;
  return `${p.message}${pct}`;
}

function progressLine(p: Progress): string {
  return `${p.prefix ? `${p.prefix}  ` : ''}${phaseLine(p)}${p.totalEtaMs === undefined ? '' : `  (all: ETA ${duration(p.totalEtaMs)})`}`;
}

/**
 * Progress on stderr: one line redrawn in place on a terminal; otherwise plain lines, one per
 * phase change and per tenth of the epochs (or of a download).
 */
function progressReporter(stream: NodeJS.WriteStream): { update(p: Progress): void; end(): void } {
  let lastDraw = 0;
  let lastKey = '';
  let drawn = false;
  return {
    update(p) {
      const line = progressLine(p);
      if (stream.isTTY) {
        const now = Date.now();
        const final = p.epoch !== undefined && p.epoch.epoch === p.epoch.epochs;
        if (now - lastDraw < 100 && !final && p.phase === 'train') return;
        lastDraw = now;
        stream.write(`\r\x1b[K${line.slice(0, (stream.columns || 100) - 1)}`);
        drawn = true;
      } else {
        const key = `${p.prefix ?? ''}:${p.phase}:${p.message.startsWith('epoch') ? '' : p.message}:${p.fraction === undefined ? '' : Math.floor(10 * p.fraction)}`;
        if (key === lastKey) return;
        lastKey = key;
        stream.write(`${line}\n`);
      }
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

/**
 * Runs `work` with progress drawn on stderr and Ctrl-C wired to its signal: the first Ctrl-C
 * cancels (the work throws CancelledError), a second one stops the process at once.
 */
export async function withProgress<T>(work: (signal: AbortSignal, onProgress: (p: Progress) => void) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ncancelling… (press Ctrl-C again to stop at once)\n');
    controller.abort();
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  const progress = progressReporter(process.stderr);
  try {
    return await work(controller.signal, (p) => progress.update(p));
  } finally {
    progress.end();
    process.off('SIGINT', onSigint);
  }
}
