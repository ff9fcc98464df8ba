/** "Train SAE on a folder…" in words and globs, free of `vscode`: the excludes, the result's summary. */
import { skipCounts } from '../../core/corpus/scan';
import type { RunView } from '../../shared/protocol';

/** The globs of a files.exclude value that are on (`true`; a `{ when }` clause depends on sibling files, which a corpus listing does not look at, so it is left out). */
export function filesExcludeGlobs(filesExclude: unknown): string[] {
  if (typeof filesExclude !== 'object' || filesExclude === null) return [];
  return Object.entries(filesExclude).flatMap(([glob, on]) => (on === true ? [glob] : []));
}

const count = (n: number) => n.toLocaleString('en-US');

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
