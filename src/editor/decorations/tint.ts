/**
 * Which tint each token gets. A tint is (hue, bucket): the hue says what kind of latent set the
 * token's tint (runFacts.ts TintChoice), the bucket (1..BUCKETS) how strongly it fires. Following
 * the course lab's heatmaps, intensity = (value / max)², so the eye sees the strong activations, not
 * the many weak ones; bucket b covers intensities in ((b − 1) / BUCKETS, b / BUCKETS].
 */
import { HUES, type Hue } from '../../shared/runFacts';

export const BUCKETS = 4;

/** (v / max)² clamped to [0, 1]; 0 when v ≤ 0 or max ≤ 0. */
export function intensity(v: number, max: number): number {
  if (!(v > 0) || !(max > 0)) return 0;
  const r = Math.min(1, v / max);
  return r * r;
}

/** 0 (no tint) for intensity 0, else 1..BUCKETS. */
export function bucketOf(x: number): number {
  if (!(x > 0)) return 0;
  return Math.min(BUCKETS, Math.ceil(x * BUCKETS - 1e-9));
}

export interface TintInput {
  /** Activation of the latent that sets the tint (runFacts.ts TintChoice; in highlight mode the highlighted one), 0 when none. */
  value: number;
  hue: Hue;
}

/**
 * Groups token indices by tint: result[hue][bucket - 1] lists the tokens to paint with that
 * decoration type. `max` normalises the values (the document's largest).
 */
export function planTints(tokens: TintInput[], max: number): Record<Hue, number[][]> {
  const plan = Object.fromEntries(HUES.map((h) => [h, Array.from({ length: BUCKETS }, () => [] as number[])])) as Record<Hue, number[][]>;
  tokens.forEach((t, i) => {
    const b = bucketOf(intensity(t.value, max));
    if (b > 0) plan[t.hue][b - 1].push(i);
  });
  return plan;
}

/** Largest value of an array (0 for an empty one). */
export function maxOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}
