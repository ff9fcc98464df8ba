/**
 * Benjamini–Hochberg adjusted p-values (q-values): with the m p-values sorted ascending,
 * q_(i) = min_{j ≥ i} min(1, m · p_(j) / j). Rejecting q ≤ α controls the false discovery rate at α.
 * NaN entries (latents not tested) stay NaN and do not count in m.
 */
export function benjaminiHochberg(p: Float64Array): Float64Array {
  const q = new Float64Array(p.length).fill(NaN);
  const order: number[] = [];
  for (let i = 0; i < p.length; i++) if (!Number.isNaN(p[i])) order.push(i);
  order.sort((a, b) => p[a] - p[b]);
  const m = order.length;
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    running = Math.min(running, (m * p[order[r]]) / (r + 1));
    q[order[r]] = running;
  }
  return q;
}
