/**
 * What the editor knows about one document's run: the run, where its tokens are now (edits shift
 * them, see spanShift.ts), whether the text changed since, and the latent being highlighted.
 * Pure data and functions; the vscode side paints and hovers from it.
 */
import type { RunView } from '../../shared/protocol';
import { runFacts, type RunFacts } from '../../shared/runFacts';
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
}

export function newDocState(uri: string, view: RunView): DocState {
  const offset = view.tokens.offset;
  const spans = view.tokens.tokens.map((t) => ({ start: t.start + offset, end: t.end + offset }));
  return { uri, view, facts: runFacts(view), spans, live: liveIndex(spans), stale: false };
}

export function editDocState(s: DocState, edits: Edit[]): DocState {
  const spans = shiftSpans(s.spans, edits);
  return { ...s, spans, live: liveIndex(spans), stale: true };
}

export interface PaintInput {
  spans: readonly (Span | null)[];
  /** Per token: the value and hue to paint ([T]). */
  tints: TintInput[];
  /** Per token: the latent to name in an inline `#id` label, or undefined ([T]). */
  labels: (number | undefined)[];
}

/**
 * Tints: in highlight mode the highlighted latent's value on every token; otherwise each token's
 * strongest latent, in that latent's hue. Labels (when enabled, not in highlight mode): tokens whose
 * strongest activation is at least `threshold` × the document's largest.
 */
export function paintInput(s: DocState, labels: { enabled: boolean; threshold: number }): PaintInput {
  if (s.highlight) {
    return { spans: s.spans, tints: s.highlight.values.map((value) => ({ value, hue: 'highlight' })), labels: [] };
  }
  const tints: TintInput[] = s.spans.map((_, i) => {
    const best = s.facts.top(i)[0];
    return best ? { value: best.value, hue: s.facts.hue(best.latent) } : { value: 0, hue: 'other' };
  });
  const cut = labels.threshold * maxOf(tints.map((t) => t.value));
  return {
    spans: s.spans,
    tints,
    labels: labels.enabled ? s.spans.map((_, i) => (tints[i].value > 0 && tints[i].value >= cut ? s.facts.top(i)[0].latent : undefined)) : [],
  };
}
