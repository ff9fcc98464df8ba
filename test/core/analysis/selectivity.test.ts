import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benjaminiHochberg } from '../../../src/core/analysis/benjaminiHochberg';
import { blockScheme } from '../../../src/core/analysis/blockScheme';
import { toColumns } from '../../../src/core/analysis/columns';
import { rankBiserial } from '../../../src/core/analysis/rankBiserial';
import { conceptOffsets, latentBlocks, refine } from '../../../src/core/analysis/refinePermutations';
import { CAP_FACTOR, conceptSelectivity } from '../../../src/core/analysis/selectivity';
import { Rng } from '../../../src/core/rng';
import { csr } from '../../fixtures/csr';

function select(dense: number[][], group: number[], permutations: number, o: { maxPermutations?: number; seed?: number; minSupport?: number; blockLength?: number } = {}) {
  const cols = toColumns(csr(dense), dense.length, dense[0].length);
  return conceptSelectivity(cols, Int8Array.from(group), { permutations, maxPermutations: o.maxPermutations ?? permutations, alpha: 0.05, seed: o.seed ?? 0, minSupport: o.minSupport ?? 2, blockLength: o.blockLength });
}

/** The lab's score, straight from its definition (NaN: fires on concept tokens only). */
function labScore(values: number[], concept: boolean[]): number {
  const c = values.filter((v, i) => v !== 0 && concept[i]);
  const o = values.filter((v, i) => v !== 0 && !concept[i]);
  if (c.length === 0) return 0;
  if (o.length === 0) return NaN;
  return c.reduce((a, b) => a + b, 0) / c.length / (o.reduce((a, b) => a + b, 0) / o.length);
}

/** Σ activations and firing count on concept-labelled tokens. */
function sumAndSupport(values: number[], concept: boolean[]): [number, number] {
  let s = 0;
  let n = 0;
  values.forEach((v, i) => {
    if (concept[i]) {
      s += v;
      if (v !== 0) n++;
    }
  });
  return [s, n];
}

/** Exact conditional p over a list of equally likely labellings: P(S ≥ observed | support ≥ minSupport). */
function exactConditionalP(values: number[], observed: boolean[], labellings: boolean[][], minSupport: number): number {
  const [s0] = sumAndSupport(values, observed);
  let counted = 0;
  let hits = 0;
  for (const lab of labellings) {
    const [s, n] = sumAndSupport(values, lab);
    if (n < minSupport) continue;
    counted++;
    if (s >= s0 - 1e-9 * Math.abs(s0)) hits++;
  }
  return hits / counted;
}

/** Every placement of nConcept labels on n tokens (the token-by-token shuffle's support). */
function placements(n: number, nConcept: number): boolean[][] {
  const out: boolean[][] = [];
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === nConcept) {
      const set = new Set(chosen);
      out.push(Array.from({ length: n }, (_, i) => set.has(i)));
      return;
    }
    for (let i = start; i < n; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return out;
}

/** Every re-ordering of `count` blocks of `length` labels after `head` fixed ones (the block scheme's support). */
function blockOrders(labels: boolean[], length: number, count: number, head: number): boolean[][] {
  const out: boolean[][] = [];
  const perm = (rest: number[], order: number[]) => {
    if (rest.length === 0) {
      const lab = labels.slice();
      order.forEach((b, k) => {
        for (let o = 0; o < length; o++) lab[head + k * length + o] = labels[head + b * length + o];
      });
      out.push(lab);
      return;
    }
    rest.forEach((b, i) => perm([...rest.slice(0, i), ...rest.slice(i + 1)], [...order, b]));
  };
  perm(Array.from({ length: count }, (_, k) => k), []);
  return out;
}

test('definitions: the lab\'s score (0 without concept firing, undefined when only on concept tokens), support, diff; only support ≥ minSupport is tested', () => {
  // tokens 0-2 concept, 3-5 other; latent 0: concept 4, 2 (one silent), other 1, 3; latent 1 only on concept;
  // latent 2 silent; latent 3 fires once on a concept token (support 1); latent 4 only on other tokens.
  const dense = [
    [4, 1, 0, 9, 0],
    [2, 2, 0, 0, 0],
    [0, 0, 0, 0, 0],
    [1, 0, 0, 0, 1],
    [3, 0, 0, 0, 2],
    [0, 0, 0, 0, 0],
  ];
  const s = select(dense, [1, 1, 1, 0, 0, 0], 200);
  assert.equal(s.nConcept, 3);
  assert.equal(s.nOther, 3);
  assert.ok(Math.abs(s.score[0] - 3 / 2) < 1e-12);
  const concept = [true, true, true, false, false, false];
  for (let l = 0; l < 5; l++) assert.ok(Object.is(s.score[l], labScore(dense.map((r) => r[l]), concept)) || Math.abs(s.score[l] - labScore(dense.map((r) => r[l]), concept)) < 1e-12, `latent ${l}`);
  assert.equal(s.support[0], 2);
  assert.ok(Math.abs(s.diff[0] - (6 / 3 - 4 / 3)) < 1e-12, 'diff: means over all concept / other tokens, zeros included');
  assert.ok(Number.isNaN(s.score[1]), 'fires on concept tokens only: the ratio is undefined, not 0');
  assert.ok(Math.abs(s.diff[1] - 1) < 1e-12);
  assert.ok(s.p[1] >= 0 && s.p[1] <= 1, 'a concept-only latent is tested');
  assert.ok(Math.abs(s.effect[1] - 2 / 3) < 1e-12, 'concept {1, 2, 0} above other {0, 0, 0} in 6 of 9 pairs, 3 ties');
  assert.ok(Number.isNaN(s.p[2]), 'a silent latent is not tested');
  assert.equal(s.support[3], 1);
  assert.ok(Number.isNaN(s.p[3]) && Number.isNaN(s.q[3]), 'support 1 < minSupport 2: not tested');
  assert.equal(s.score[4], 0, 'never fires on a concept token: score 0');
  assert.ok(Number.isNaN(s.p[4]));
  assert.equal(s.tested, 2, 'm of Benjamini–Hochberg: the latents with support ≥ 2');
  assert.equal(select(dense, [1, 1, 1, 0, 0, 0], 200, { minSupport: 1 }).tested, 3);
});

test('token-by-token shuffle (short documents): p-values agree with the exact conditional enumeration', () => {
  const rng = new Rng(5);
  const T = 12;
  const nConcept = 4;
  // Latent l: values on its firing tokens; concept tokens are the first four. Latent 2 is sparse, so
  // conditioning on support ≥ 2 matters for it.
  const dense = Array.from({ length: T }, (_, t) => [0.8, 0.8, 0.3].map((rate, l) => (rng.uniform() < rate ? rng.range(0.1, 2) + (l === 0 && t < nConcept ? 1.5 : 0) : 0)));
  dense[0][2] = 1.2;
  dense[1][2] = 0.4;
  const group = Array.from({ length: T }, (_, t) => (t < nConcept ? 1 : 0));
  const s = select(dense, group, 20000);
  assert.equal(s.scheme!.length, 1);
  const all = placements(T, nConcept);
  for (let l = 0; l < 3; l++) {
    const exact = exactConditionalP(dense.map((r) => r[l]), group.map((g) => g === 1), all, 2);
    assert.ok(Math.abs(s.p[l] - exact) < 0.012, `latent ${l}: p ${s.p[l]} vs exact ${exact}`);
  }
});

test('block permutations: shared and refined p-values agree with the exact enumeration over block orders', () => {
  const rng = new Rng(9);
  const T = 70;
  const B = 16;
  // Concept runs of 1-3 tokens; latent 0 leans towards concept tokens, latent 1 is noise, latent 2 is sparse.
  const runs = [
    [3, 5],
    [20, 21],
    [30, 33],
    [47, 49],
    [60, 61],
  ];
  const group = Array.from({ length: T }, (_, t) => (runs.some(([a, b]) => t >= a && t < b) ? 1 : 0));
  const dense = Array.from({ length: T }, (_, t) => [
    rng.uniform() < 0.6 ? rng.range(0.1, 1) + (group[t] ? 0.4 : 0) : 0,
    rng.uniform() < 0.5 ? rng.range(0.1, 1) : 0,
    rng.uniform() < 0.15 ? rng.range(0.5, 3) : 0,
  ]);
  dense[3][2] = 2;
  dense[31][2] = 1.5;
  const s = select(dense, group, 20000, { blockLength: B });
  const { length, count, head } = s.scheme!;
  assert.deepEqual([length, count], [B, 4]);
  const labels = group.map((g) => g === 1);
  const orders = blockOrders(labels, B, count, head);
  assert.equal(orders.length, 24);
  const cols = toColumns(csr(dense), T, 3);
  const scheme = blockScheme(cols, Int8Array.from(group), () => true, B);
  const offsets = conceptOffsets(scheme);
  for (let l = 0; l < 3; l++) {
    const values = dense.map((r) => r[l]);
    const exact = exactConditionalP(values, labels, orders, 2);
    assert.ok(Math.abs(s.p[l] - exact) < 0.012, `latent ${l}: shared p ${s.p[l]} vs exact ${exact}`);
    // The refinement alone, from its own draws, estimates the same tail probability.
    const firing = values.flatMap((v, i) => (v !== 0 ? [i] : []));
    const sample = { positions: Int32Array.from(firing), values: Float64Array.from(firing, (i) => values[i]) };
    const [s0] = sumAndSupport(values, labels);
    for (const tight of [false, true]) {
      const r = refine(latentBlocks(scheme, offsets, sample, tight), s0 - 1e-9 * Math.abs(s0), 2, { exceed: 0, permutations: 0, draws: 0 }, Infinity, 50000, 1e6, new Rng(l + 1));
      assert.ok(Math.abs(r.exceed / r.permutations - exact) < 0.012, `latent ${l} (${tight ? 'Hungarian' : 'row-max'} bound): refined rate ${r.exceed / r.permutations} vs exact ${exact}`);
    }
  }
});

test('conditional on being tested: a latent whose only firings are minSupport concept tokens has p = 1', () => {
  const T = 40;
  const group = Array.from({ length: T }, (_, t) => (t % 8 === 0 ? 1 : 0));
  const dense = Array.from({ length: T }, (_, t) => [t === 0 || t === 8 ? 50 : 0, 1]);
  const s = select(dense, group, 1000, { maxPermutations: 20000 });
  assert.equal(s.support[0], 2);
  assert.equal(s.p[0], 1, 'every permutation that also gives it support 2 puts both values on concept tokens');
});

test('p = (1 + exceedances) / (1 + counted permutations); refinement only adds permutations for latents with few exceedances; default cap', () => {
  const rng = new Rng(8);
  const T = 200;
  const group = Array.from({ length: T }, (_, t) => (t % 10 === 0 ? 1 : 0));
  // latent 0: strongly selective; latent 1: noise.
  const dense = Array.from({ length: T }, (_, t) => [group[t] ? 5 + rng.uniform() : rng.uniform() < 0.3 ? rng.uniform() : 0, rng.uniform() < 0.5 ? rng.uniform() : 0]);
  const fixed = select(dense, group, 1000);
  assert.equal(fixed.p[0], 1 / 1001, 'no permutation reaches the planted latent; all 1000 count (its support is always ≥ 2)');
  assert.equal(fixed.permutationsUsed[0], 1000);
  const refined = select(dense, group, 1000, { maxPermutations: 50000 });
  assert.equal(refined.permutationsUsed[0], 50000);
  assert.equal(refined.p[0], 1 / 50001);
  assert.ok(refined.p[1] > 0.01 && refined.permutationsUsed[1] === 1000, 'a noise latent keeps its 1000 shared permutations');
  const cols = toColumns(csr(dense), T, 2);
  const auto = conceptSelectivity(cols, Int8Array.from(group), { permutations: 10, alpha: 0.05, seed: 0, minSupport: 2 });
  assert.equal(auto.maxPermutations, Math.ceil((CAP_FACTOR * auto.tested) / 0.05), 'default cap ⌈10 m / α⌉ (= 400 here)');
  assert.ok(auto.q[0] <= 0.05 / CAP_FACTOR, `a latent no permutation reaches gets q ≤ α / 10 (${auto.q[0]})`);
  assert.equal(conceptSelectivity(cols, Int8Array.from(group), { permutations: 1000, alpha: 0.05, seed: 0, minSupport: 2 }).maxPermutations, 1000, 'never below the shared count');
  const again = select(dense, group, 1000, { maxPermutations: 50000 });
  assert.deepEqual(again.p, refined.p, 'seeded: the same seed gives the same p-values');
});

test('no concept token, or no other token: nothing is tested, no NaN scores', () => {
  const dense = [
    [1, 2],
    [3, 0],
  ];
  for (const group of [
    [0, 0],
    [1, 1],
  ]) {
    const s = select(dense, group, 100);
    assert.equal(s.tested, 0);
    assert.equal(s.scheme, null);
    assert.deepEqual(Array.from(s.score), [0, 0]);
    assert.ok(Array.from(s.p).every(Number.isNaN));
  }
});

test('a contrast group: tokens outside it (−1) take no part', () => {
  const dense = [[2], [1], [100], [1]];
  const s = select(dense, [1, 0, -1, 0], 100);
  assert.equal(s.score[0], 2, 'the 100 on an untested token is ignored');
  assert.equal(s.diff[0], 1);
});

test('Benjamini–Hochberg q-values, with untested entries left out of m', () => {
  const q = benjaminiHochberg(Float64Array.from([0.01, 0.04, NaN, 0.03, 0.005]));
  const want = [0.02, 0.04, NaN, 0.04, 0.02];
  want.forEach((w, i) => (Number.isNaN(w) ? assert.ok(Number.isNaN(q[i])) : assert.ok(Math.abs(q[i] - w) < 1e-12, `q[${i}] = ${q[i]}`)));
  assert.deepEqual(Array.from(benjaminiHochberg(Float64Array.from([0.9, 1]))), [1, 1]);
});

test('rank-biserial effect: +1, −1, 0, and zeros counted as ties', () => {
  assert.equal(rankBiserial(Float64Array.from([5, 6]), 2, Float64Array.from([1, 2]), 2), 1);
  assert.equal(rankBiserial(Float64Array.from([1]), 1, Float64Array.from([4, 5]), 2), -1);
  assert.equal(rankBiserial(Float64Array.from([2]), 1, Float64Array.from([2]), 1), 0);
  // concept {3, 0}, other {1, 0, 0}: pairs 3>1, 3>0, 3>0, 0<1, 0=0, 0=0 → U = 4 of 6 → r = 1/3.
  assert.ok(Math.abs(rankBiserial(Float64Array.from([3]), 2, Float64Array.from([1]), 3) - 1 / 3) < 1e-12);
  assert.equal(rankBiserial(new Float64Array(0), 0, Float64Array.from([1]), 1), 0);
});
