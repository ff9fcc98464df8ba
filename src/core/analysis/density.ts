import type { LatentColumns } from './columns';

/**
 * Density anatomy (the lab's definitions). A latent's density is the % of tokens where it is non-zero;
 * layer density is the % of latents that fire on at least one token; dead latents fire on no token,
 * always-on latents on every token, near-always latents on at least `nearAlways` of the tokens.
 */
export interface LatentDensity {
  count: Int32Array; // [nLatents] tokens where the latent is non-zero
  densityPct: Float64Array; // [nLatents]
  meanAbs: Float64Array; // [nLatents] mean |z| over its non-zero tokens (0 when dead)
  max: Float64Array; // [nLatents] largest activation (0 when dead)
  maxToken: Int32Array; // [nLatents] token of the largest activation, −1 when dead
  layerDensityPct: number;
  /** Mean % of latents non-zero per token (L0 / nLatents; the lab's "overall density"). */
  meanDensityPct: number;
  l0: number;
  dead: number[];
  alwaysOn: number[];
  nearAlways: number[];
}

export function densityAnatomy(cols: LatentColumns, nearAlways: number): LatentDensity {
  const { nTokens: T, nLatents: L, colPtr, token, value } = cols;
  const count = new Int32Array(L);
  const densityPct = new Float64Array(L);
  const meanAbs = new Float64Array(L);
  const max = new Float64Array(L);
  const maxToken = new Int32Array(L).fill(-1);
  const dead: number[] = [];
  const alwaysOn: number[] = [];
  const near: number[] = [];
  for (let l = 0; l < L; l++) {
    const a = colPtr[l];
    const b = colPtr[l + 1];
    const n = b - a;
    count[l] = n;
    densityPct[l] = (100 * n) / T;
    if (n === 0) {
      dead.push(l);
      continue;
    }
    let abs = 0;
    let best = -Infinity;
    for (let j = a; j < b; j++) {
      abs += Math.abs(value[j]);
      if (value[j] > best) {
        best = value[j];
        maxToken[l] = token[j];
      }
    }
    meanAbs[l] = abs / n;
    max[l] = best;
    if (n === T) alwaysOn.push(l);
    if (n >= nearAlways * T) near.push(l);
  }
  const nnz = colPtr[L];
  return {
    count,
    densityPct,
    meanAbs,
    max,
    maxToken,
    layerDensityPct: (100 * (L - dead.length)) / L,
    meanDensityPct: (100 * nnz) / (T * L),
    l0: nnz / T,
    dead,
    alwaysOn,
    nearAlways: near,
  };
}

/** Histogram of log10(density as a fraction of tokens) over the latents that fire; dead ones are counted apart. */
export interface DensityHistogram {
  /** Bin edges in log10(fraction), ascending; counts[i] covers [edges[i], edges[i+1]) (the last bin includes 0 = every token). */
  edges: number[];
  counts: number[];
  dead: number;
}

/**
 * Bins span log10(1/T) (one token) to 0 (every token), so every live latent falls in a bin and the
 * edges depend only on the document length.
 */
export function densityHistogram(count: Int32Array, nTokens: number, bins: number): DensityHistogram {
  const lo = Math.log10(1 / nTokens);
  const width = (0 - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? 0 : lo + i * width));
  const counts = new Array<number>(bins).fill(0);
  let dead = 0;
  for (let l = 0; l < count.length; l++) {
    if (count[l] === 0) {
      dead++;
      continue;
    }
    const x = Math.log10(count[l] / nTokens);
    counts[width > 0 ? Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / width + 1e-9))) : 0]++;
  }
  return { edges, counts, dead };
}
