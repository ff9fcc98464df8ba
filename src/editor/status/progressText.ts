/** A worker progress event as a share of the whole run and a line for the notification and the status bar. */
import type { Phase, ProgressEvent } from '../../shared/protocol';

/** Where each phase of a run starts and ends, in % of the run; training (or, applying an SAE, encoding) takes most of it. */
const SPAN: Partial<Record<Phase, [number, number]>> = {
  load: [0, 5],
  download: [0, 5],
  standIn: [0, 5],
  scan: [0, 5],
  tokenize: [5, 6],
  extract: [6, 15],
  train: [15, 90],
  encode: [15, 90],
  write: [90, 93],
  analyze: [93, 100],
};

const fraction = (p: ProgressEvent) => (p.total ? Math.min(1, Math.max(0, (p.done ?? 0) / p.total)) : 0);

/** % of a training run done; a job of one phase (evidence, stability) goes from 0 to 100 with its count. */
export function progressPercent(p: ProgressEvent): number {
  const [start, end] = SPAN[p.phase] ?? [0, 100];
  return start + (end - start) * fraction(p);
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

function count(p: ProgressEvent): string | undefined {
  const { done = 0, total } = p;
  if (!total) return undefined;
  switch (p.unit) {
    case 'byte':
      return `${mb(done)} of ${mb(total)}`;
    case 'token':
      return `${done} of ${total} tokens`;
    case 'file':
      return `file ${done} of ${total}`;
    case 'forward':
      return `${done} of ${total} forward passes`;
    default:
      return `${Math.floor(100 * fraction(p))} %`;
  }
}

export function progressLine(p: ProgressEvent): string {
  const eta = p.etaMs === undefined ? [] : [`about ${duration(p.etaMs)} left`];
  if (p.phase === 'train' && p.unit === 'epoch' && p.total) {
    return [`epoch ${p.done}/${p.total}`, ...(p.loss === undefined ? [] : [`loss ${p.loss.toPrecision(3)}`]), ...eta].join(' · ');
  }
  const n = count(p);
  return [p.message, ...(n === undefined ? [] : [n]), ...(n === undefined ? [] : eta)].join(' · ');
}
