/**
 * One file of a corpus run, as the editor shows it when that file is opened: the run's view cut to
 * the file's tokens, no retraining. A document is a file of the run when the sha256 of its text is
 * the one tokens.json recorded for the file (run/corpusFiles.ts corpusFileOf).
 */
import { corpusFileOf, fileRows } from '../core/run/corpusFiles';
import type { RunFile } from '../core/run/format';
import type { TokenTopLatents } from '../core/analysis/tokenTop';
import type { AnalysisReport } from '../core/analysis/types';
import type { RunView } from './protocol';

const topOfFile = (top: TokenTopLatents, file: RunFile): TokenTopLatents => ({ n: top.n, latents: fileRows(top.latents, file), values: fileRows(top.values, file) });

/** The corpus's analysis as one file's view holds it: its per-token top latents cut to the file, its heatmaps (which index the corpus's tokens) left out. */
function fileAnalysis(analysis: AnalysisReport, file: RunFile): AnalysisReport {
  return { ...analysis, perToken: topOfFile(analysis.perToken, file), perTokenExcludingAlwaysOn: topOfFile(analysis.perTokenExcludingAlwaysOn, file), heatmaps: [] };
}

/**
 * The view of one file of a corpus run: its tokens (offsets within the file) and their top latents
 * are the run's rows [first, first + tokens); the latent table, the lists and the concept test stay
 * the corpus's (they describe the SAE on all its files). A latent's activations on the file are the
 * run's, cut the same way (ActivationsQuery.range).
 */
export function fileView(view: RunView, file: RunFile): RunView {
  const { tokens } = view;
  return {
    ...view,
    tokens: { version: tokens.version, source: `${tokens.source}/${file.path}`, offset: 0, tokens: fileRows(tokens.tokens, file) },
    analysis: fileAnalysis(view.analysis, file),
    corpusFile: { ...file, root: tokens.source, files: tokens.files?.length ?? 0 },
  };
}

/** The view with a new analysis of its run (re-analysed, or with its evidence): for a corpus file's view, cut to the file. */
export function withAnalysis(view: RunView, analysis: AnalysisReport): RunView {
  return { ...view, analysis: view.corpusFile ? fileAnalysis(analysis, view.corpusFile) : analysis };
}

/** The view of the corpus run's file whose text has this sha256, or undefined when the text is none of its files. */
export function corpusFileView(view: RunView, textSha256: string): RunView | undefined {
  const file = corpusFileOf(view.tokens, textSha256);
  return file && fileView(view, file);
}
