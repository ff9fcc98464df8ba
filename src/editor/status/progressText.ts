/** A worker progress event as a share of the whole run and a line for the notification. */
import type { Phase, ProgressEvent } from '../../shared/protocol';

/** Where each phase starts, in % of the run; training (or, applying an SAE, encoding) takes most of it. */
const PHASE_START: Record<Phase, number> = { scan: 0, download: 0, tokenize: 5, extract: 8, train: 15, encode: 15, write: 90, analyze: 93, evidence: 93 };
const PHASE_END: Record<Phase, number> = { scan: 0, download: 5, tokenize: 8, extract: 15, train: 90, encode: 90, write: 93, analyze: 100, evidence: 100 };

export function progressPercent(p: ProgressEvent): number {
  const start = PHASE_START[p.phase];
  const span = PHASE_END[p.phase] - start;
  let fraction = 0;
  if (p.phase === 'train' && p.epoch !== undefined && p.epochs) fraction = p.epoch / p.epochs;
  if (p.phase === 'download' && p.bytesTotal) fraction = (p.bytesDone ?? 0) / p.bytesTotal;
  if (p.phase === 'extract' && p.corpus?.totalTokens) fraction = p.corpus.tokens / p.corpus.totalTokens;
  return start + span * Math.min(1, Math.max(0, fraction));
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

export function progressLine(p: ProgressEvent): string {
  if (p.phase === 'train' && p.epoch !== undefined && p.epochs) {
    const loss = p.loss === undefined ? '' : ` · loss ${p.loss.toPrecision(3)}`;
    const eta = p.etaMs === undefined ? '' : ` · about ${duration(p.etaMs)} left`;
    return `epoch ${p.epoch}/${p.epochs}${loss}${eta}`;
  }
  if (p.phase === 'download' && p.bytesTotal) return `${p.message} (${mb(p.bytesDone ?? 0)} of ${mb(p.bytesTotal)})`;
  return p.message;
}
