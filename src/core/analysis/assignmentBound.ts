/**
 * An upper bound on Σ_i value[i][σ(i)] over every injective map σ from `rows` rows to `cols` ≥ rows
 * columns, in the form the permutation refinement needs while it draws σ one row at a time: dual
 * potentials U [rows] and V [cols] ≥ 0 with value[i][t] ≤ U_i + V_t. For rows R still to draw and
 * columns C still free, Σ_{R} U + Σ_{C} V bounds what they can add (the restricted duals stay
 * feasible). The potentials come from the Hungarian method (shortest augmenting paths, O(rows²·cols)),
 * so the bound over all rows is the best assignment's value; the trivial potentials U = row maxima,
 * V = 0 give the same kind of bound, only looser.
 */
export interface AssignmentDuals {
  u: Float64Array; // [rows]
  v: Float64Array; // [cols], ≥ 0
}

export function assignmentDuals(value: Float64Array, rows: number, cols: number): AssignmentDuals {
  // Minimum-cost assignment of cost −value, 1-based as in the textbook form; p[t]: row assigned to column t.
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const p = new Int32Array(cols + 1);
  const way = new Int32Array(cols + 1);
  const minv = new Float64Array(cols + 1);
  const used = new Uint8Array(cols + 1);
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      const base = (i0 - 1) * cols - 1;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = -value[base + j] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  // u_i + v_t ≤ −value[i][t], v ≤ 0: negate for the maximisation.
  return { u: Float64Array.from(u.subarray(1), (x) => -x), v: Float64Array.from(v.subarray(1), (x) => -x) };
}

/** The trivial potentials: U = row maxima, V = 0. */
export function rowMaxDuals(value: Float64Array, rows: number, cols: number): AssignmentDuals {
  const u = new Float64Array(rows).fill(-Infinity);
  for (let i = 0; i < rows; i++) for (let t = 0; t < cols; t++) u[i] = Math.max(u[i], value[i * cols + t]);
  return { u, v: new Float64Array(cols) };
}
