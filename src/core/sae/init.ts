import { Rng } from '../rng';

/**
 * Initial W [dIn, nLatents] as PyTorch's default for nn.Linear(dIn, nLatents): kaiming_uniform_ with
 * a = √5 works out to U(−1/√dIn, 1/√dIn), fan_in = dIn. (nn.Linear stores the transpose,
 * [nLatents, dIn]; the distribution is the same.)
 *
 * RNG: src/core/rng.ts's Rng(seed) — mulberry32 over a state derived from the seed by splitmix32 —
 * one `range(lo, hi)` draw per element (lo + (hi − lo)·u, u a 24-bit uniform in [0, 1)), in
 * row-major order of W. The same seed gives the same W on every engine and platform; it does not
 * reproduce torch.manual_seed's numbers.
 */
export function initWeights(dIn: number, nLatents: number, seed: number): Float32Array {
  const bound = 1 / Math.sqrt(dIn);
  return new Rng(seed).fillUniform(new Float32Array(dIn * nLatents), -bound, bound);
}
