/**
 * The time left of a scan: every layer still to do is expected to take as long as the finished
 * layers of its kind took on average (training or encoding a layer, or only re-analysing it). Until
 * one has finished, the current layer's own estimate stands in: its elapsed time plus its training
 * ETA (which leaves out analysis and evidence, so the first figures are low).
 */
export type LayerWork = 'make' | 'reanalyse';

export interface EtaInput {
  /** Durations of the layers finished in this session, ms, by kind. */
  finished: { work: LayerWork; ms: number }[];
  /** Kinds of the current layer and the ones after it, in order. */
  left: LayerWork[];
  /** Time spent on the current layer so far. */
  elapsedMs: number;
  /** The current layer's training ETA, when training. */
  trainEtaMs?: number;
}

/** Milliseconds left, or undefined while nothing allows a guess. */
export function scanEta(o: EtaInput): number | undefined {
  if (o.left.length === 0) return 0;
  const mean = (work: LayerWork) => {
    const ms = o.finished.filter((f) => f.work === work).map((f) => f.ms);
    return ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : undefined;
  };
  const [current, ...after] = o.left;
  const perCurrent = mean(current) ?? (o.trainEtaMs !== undefined ? o.elapsedMs + o.trainEtaMs : undefined);
  if (perCurrent === undefined) return undefined;
  const currentLeft = Math.max(perCurrent - o.elapsedMs, o.trainEtaMs ?? 0);
  let total = currentLeft;
  for (const work of after) {
    const per = mean(work) ?? (work === current ? perCurrent : undefined);
    if (per === undefined) return undefined;
    total += per;
  }
  return total;
}
