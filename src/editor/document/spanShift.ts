/**
 * Keeps token ranges in step with edits, so decorations and hovers stay on their tokens while the
 * user types: tokens wholly before an edit stay, tokens wholly after it move by the edit's length
 * change, and tokens the edit touches are dropped (their activations no longer describe the text).
 */
export interface Span {
  start: number;
  end: number;
}

/** One replacement, in document offsets before the edit: [offset, offset + removed) became `inserted` characters. */
export interface Edit {
  offset: number;
  removed: number;
  inserted: number;
}

function apply(s: Span, e: Edit): Span | null {
  // An empty span (a token holding only the leading bytes of a character) stands for that character.
  const end = s.end > s.start ? s.end : s.start + 1;
  const overlaps = e.removed > 0 ? s.start < e.offset + e.removed && end > e.offset : s.start < e.offset && e.offset < end;
  if (overlaps) return null;
  if (end <= e.offset) return s;
  const delta = e.inserted - e.removed;
  return { start: s.start + delta, end: s.end + delta };
}

/**
 * The spans after `edits` (the changes of one document change event, non-overlapping, each in the
 * offsets of the text before the event); null for a dropped span (and for one dropped before). Applied from the last edit to the
 * first, so every edit's offsets stay valid.
 */
export function shiftSpans(spans: readonly (Span | null)[], edits: readonly Edit[]): (Span | null)[] {
  const ordered = [...edits].sort((a, b) => b.offset - a.offset);
  return spans.map((s) => {
    let cur: Span | null = s;
    for (const e of ordered) {
      if (!cur) break;
      cur = apply(cur, e);
    }
    return cur;
  });
}

/** Indices of the live (non-null) spans, in document order: the search index of tokenAt. */
export function liveIndex(spans: readonly (Span | null)[]): number[] {
  const out: number[] = [];
  spans.forEach((s, i) => {
    if (s) out.push(i);
  });
  return out;
}

/** The index of the non-empty span holding `offset` (start ≤ offset < end), or -1. */
export function tokenAt(spans: readonly (Span | null)[], live: readonly number[], offset: number): number {
  let lo = 0;
  let hi = live.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = spans[live[mid]]!;
    if (offset < s.start) hi = mid - 1;
    else if (offset >= s.end) lo = mid + 1;
    else return live[mid];
  }
  return -1;
}
