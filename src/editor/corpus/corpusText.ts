/** "Train SAE on a folder…" in words and globs, free of `vscode`: the excludes, the progress line with its ETA, the result's summary. */
import { skipCounts } from '../../core/corpus/scan';
import type { ProgressEvent, RunView } from '../../shared/protocol';
import { progressLine } from '../status/progressText';

/** The globs of a files.exclude value that are on (`true`; a `{ when }` clause depends on sibling files, which a corpus listing does not look at, so it is left out). */
export function filesExcludeGlobs(filesExclude: unknown): string[] {
  if (typeof filesExclude !== 'object' || filesExclude === null) return [];
  return Object.entries(filesExclude).flatMap(([glob, on]) => (on === true ? [glob] : []));
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

const count = (n: number) => n.toLocaleString('en-US');

/** Remembers when extraction started, to say how long it has left from its pace so far. */
export class CorpusEta {
  private start?: { at: number; tokens: number };

  /** The line for `p` at time `now` (ms): files and tokens while reading and extracting, with the time left once some tokens are done; training's line (epoch, loss, ETA) otherwise. */
  line(p: ProgressEvent, now: number): string {
    const c = p.corpus;
    if (!c || (p.phase !== 'extract' && p.phase !== 'scan')) return progressLine(p);
    if (p.phase === 'scan') return `reading file ${c.files} of ${c.totalFiles}`;
    this.start ??= { at: now, tokens: c.tokens };
    const done = c.tokens - this.start.tokens;
    const left = done > 0 && c.totalTokens > c.tokens ? ` · about ${duration(((now - this.start.at) / done) * (c.totalTokens - c.tokens))} left` : '';
    const file = c.path ? ` (${c.path})` : '';
    return `extracting file ${Math.min(c.files + 1, c.totalFiles)} of ${c.totalFiles}${file} · ${count(c.tokens)} of ${count(c.totalTokens)} tokens${left}`;
  }
}

/** The notification after a corpus run: files and tokens trained on, what was skipped and why. */
export function corpusSummary(view: RunView, folder: string): string {
  const files = view.tokens.files?.length ?? 0;
  const skipped = view.tokens.skipped ?? [];
  const s = view.metrics.schedule;
  const trained = `trained an SAE on ${files} file${files === 1 ? '' : 's'} of ${folder} (${count(view.tokens.tokens.length)} tokens${s ? `, ${s.epochs} epochs, stopped by ${s.why}` : ''}), FVE ${view.metrics.final.fve.toFixed(3)}`;
  const skips = skipped.length ? `; skipped ${skipped.length} (${skipCounts(skipped)})` : '';
  return `Latent Lens: ${trained}${skips}. Open any of its files to see its tokens' latents.`;
}

/** One log line per skipped file, with why. */
export function skippedLines(view: RunView): string[] {
  return (view.tokens.skipped ?? []).map((s) => `skipped ${s.path}: ${s.detail}`);
}
