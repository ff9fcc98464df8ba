/**
 * What the editor knows about one document's run: the run, where its tokens are now (edits shift
 * them, see spanShift.ts), whether the text changed since, and the latent being highlighted.
 * Pure data and functions; the vscode side paints and hovers from it.
 */
import type { StabilityReport } from '../../core/analysis/stability';
import type { RunView, RunWork } from '../../shared/protocol';
import { NO_WORK } from '../../shared/work';
import { runFacts, type RunFacts } from '../../shared/runFacts';
import { textSha256 as sha256 } from '../../core/corpus/text';
import { liveIndex, shiftSpans, type Edit, type Span } from './spanShift';
import { maxOf, type TintInput } from '../decorations/tint';

export interface DocState {
  uri: string;
  view: RunView;
  facts: RunFacts;
  /** Current document range of every run token ([T]); null once an edit touched it. */
  spans: (Span | null)[];
  /** Search index over the live spans (spanShift.tokenAt). */
  live: number[];
  /** The document was edited after the run. */
  stale: boolean;
  /** "Highlight latent N": its activation on every token ([T]). */
  highlight?: { latent: number; values: number[] };
  /** The document's whole text when the run started, by length and sha256: an edit back to it (undo) is fresh again. */
  trained: TextPrint;
  /** Work going on in the worker for this run (progress lines). */
  work: RunWork;
  /** The last seed-stability check of this run. */
  stability?: StabilityReport;
}

export interface TextPrint {
  length: number;
  sha256: string;
}

export function textPrint(text: string): TextPrint {
  return { length: text.length, sha256: sha256(text) };
}

function freshSpans(view: RunView): Span[] {
  const offset = view.tokens.offset;
  return view.tokens.tokens.map((t) => ({ start: t.start + offset, end: t.end + offset }));
}

/** `text`: the document's whole text the run was made on (not only a selection). */
export function newDocState(uri: string, view: RunView, text: string): DocState {
  const spans = freshSpans(view);
  return { uri, view, facts: runFacts(view), spans, live: liveIndex(spans), stale: false, trained: textPrint(text), work: NO_WORK };
}

/** The state with a new view of the same run (an analysis or evidence that arrived): same spans and staleness. */
export function withView(s: DocState, view: RunView): DocState {
  return { ...s, view, facts: runFacts(view) };
}

export function editDocState(s: DocState, edits: Edit[]): DocState {
  const spans = shiftSpans(s.spans, edits);
  return { ...s, spans, live: liveIndex(spans), stale: true };
}

/** After edits: a document whose text is again the run's own (undone back to it) is fresh, its tokens where they were. */
export function settle(s: DocState, text: string): DocState {
  if (!s.stale || text.length !== s.trained.length || textPrint(text).sha256 !== s.trained.sha256) return s;
  const spans = freshSpans(s.view);
  return { ...s, spans, live: liveIndex(spans), stale: false };
}

export interface PaintInput {
  spans: readonly (Span | null)[];
  /** Per token: the value and hue to paint ([T]). */
  tints: TintInput[];
  /** Per token: which latent set the tint and why (runFacts.ts TintChoice.why), [T]; empty in highlight mode. */
  why: string[];
  /** Per token: the latent to name in an inline `#id` label, or undefined ([T]). */
  labels: (number | undefined)[];
}

export interface PaintSettings {
  labels: { enabled: boolean; threshold: number };
  /** Leave always-on and near-always latents out of the tints (latentLens.tints.excludeAlwaysOn). */
  excludeAlwaysOn: boolean;
}

/**
 * Tints: in highlight mode the highlighted latent's value on every token; otherwise each token's
 * most informative latent (RunFacts.tint: the one at the highest share of its own document max), in
 * that latent's hue, painted by its activation (against the document's strongest tint, like every
 * heatmap here). Labels (when enabled, not in highlight mode): the tinting latent where its
 * activation is at least `threshold` × the document's strongest tint.
 */
export function paintInput(s: DocState, settings: PaintSettings): PaintInput {
  if (s.highlight) {
    return { spans: s.spans, tints: s.highlight.values.map((value) => ({ value, hue: 'highlight' })), why: [], labels: [] };
  }
  const choices = s.spans.map((_, i) => s.facts.tint(i, settings.excludeAlwaysOn));
  const tints: TintInput[] = choices.map((c) => ({ value: c.value, hue: c.hue }));
  const { labels } = settings;
  const cut = labels.threshold * maxOf(tints.map((t) => t.value));
  return {
    spans: s.spans,
    tints,
    why: choices.map((c) => c.why),
    labels: labels.enabled ? choices.map((c) => (c.value > 0 && c.value >= cut ? c.latent : undefined)) : [],
  };
}
