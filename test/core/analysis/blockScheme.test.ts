import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignmentDuals, rowMaxDuals } from '../../../src/core/analysis/assignmentBound';
import { blockScheme, lagOneAutocorrelation, MIN_BLOCKS, MIN_LENGTH } from '../../../src/core/analysis/blockScheme';
import { toColumns } from '../../../src/core/analysis/columns';
import { permuteLabels } from '../../../src/core/analysis/permutedLabels';
import { Rng } from '../../../src/core/rng';
import { csr } from '../../fixtures/csr';
import { ar1Codes } from './synthetic';

const noLatents = toColumns(csr([[0]]), 1, 1);
const columnsOf = (T: number) => ({ ...noLatents, nTokens: T, colPtr: Int32Array.from([0, 0]) });

test('block length: at least MIN_LENGTH and the longest concept run, at most tested / MIN_BLOCKS; token by token below 2·MIN_BLOCKS tested tokens', () => {
  const T = 1000;
  const group = new Int8Array(T);
  for (const t of [100, 101, 102, 500]) group[t] = 1;
  const s = blockScheme(columnsOf(T), group, () => false);
  assert.equal(s.length, MIN_LENGTH);
  assert.equal(s.count, Math.floor(T / MIN_LENGTH));
  assert.equal(s.longestRun, 3);
  for (let t = 200; t < 212; t++) group[t] = 1; // a 12-token run
  assert.equal(blockScheme(columnsOf(T), group, () => false).length, 12);
  for (let t = 300; t < 360; t++) group[t] = 1; // longer than T / MIN_BLOCKS = 31
  const capped = blockScheme(columnsOf(T), group, () => false);
  assert.equal(capped.length, Math.floor(T / MIN_BLOCKS));
  assert.ok(capped.cutRuns >= 1, 'a run longer than a block is cut');
  const short = new Int8Array(2 * MIN_BLOCKS - 1);
  short[3] = 1;
  assert.equal(blockScheme(columnsOf(short.length), short, () => false).length, 1);
});

test('the head is chosen so that block edges cut no concept run when one can', () => {
  const T = 300; // length 8 (MIN_LENGTH), 37 blocks, 4 tokens to place before or after them
  const group = new Int8Array(T);
  for (const [a, b] of [
    [7, 9],
    [15, 18],
    [63, 65],
  ]) {
    for (let t = a; t < b; t++) group[t] = 1;
  }
  const s = blockScheme(columnsOf(T), group, () => false);
  assert.equal(s.length, 8);
  assert.equal(s.count, 37);
  assert.equal(s.cutRuns, 0);
  // With head h the edges are h + 8k: runs [7, 9), [15, 18) and [63, 65) avoid them for h = 2, 3 or 4; the smallest wins.
  assert.equal(s.head, 2);
});

test('untested tokens (a contrast list) are left out: blocks run over the tested tokens in document order', () => {
  const T = 200;
  const group = Int8Array.from({ length: T }, (_, t) => (t % 2 ? -1 : t % 10 === 0 ? 1 : 0));
  const s = blockScheme(columnsOf(T), group, () => false);
  assert.equal(s.positions.length, 100);
  assert.deepEqual(Array.from(s.positions.slice(0, 3)), [0, 2, 4]);
  assert.equal(s.positionOf[4], 2);
  assert.equal(s.positionOf[5], -1);
  assert.equal(s.length, 3, '100 tested tokens: at most 100 / 32 per block');
});

test('each shared permutation re-orders whole blocks: the concept count, the fixed head and tail and every block\'s labels are kept', () => {
  const T = 300;
  const rng = new Rng(4);
  const group = Int8Array.from({ length: T }, () => (rng.uniform() < 0.1 ? 1 : 0));
  const s = blockScheme(columnsOf(T), group, () => false);
  const P = 40;
  const perm = permuteLabels(s, T, P, 7);
  assert.equal(perm.storesConcept, true);
  const blockOf = (labels: number[], k: number) => labels.slice(s.head + k * s.length, s.head + (k + 1) * s.length).join('');
  const original = Array.from(group);
  const blocks = Array.from({ length: s.count }, (_, k) => blockOf(original, k)).sort();
  const end = s.head + s.count * s.length;
  const distinct = new Set<string>();
  for (let p = 0; p < P; p++) {
    const labels = Array.from({ length: T }, (_, t) => (perm.bits[t * perm.words + (p >>> 5)] >>> (p & 31)) & 1);
    assert.equal(labels.reduce((a, b) => a + b, 0), original.reduce((a, b) => a + b, 0));
    for (let t = 0; t < T; t++) if (t < s.head || t >= end) assert.equal(labels[t], original[t], `fixed token ${t}`);
    assert.deepEqual(Array.from({ length: s.count }, (_, k) => blockOf(labels, k)).sort(), blocks, 'the same blocks, re-ordered');
    distinct.add(labels.join(''));
  }
  assert.equal(distinct.size, P, 'no repeats among 40 draws');
});

test('lag-1 autocorrelation over the tested positions, zeros included, as computed densely', () => {
  const { codes, group } = ar1Codes(3, 400, 4, 0.8);
  const cols = toColumns(codes, 400, 4);
  const s = blockScheme(cols, group, () => true);
  assert.ok(Number.isNaN(lagOneAutocorrelation(cols, 2, s.positionOf, 400)), 'latent 2 never fires: constant, undefined');
  for (const l of [0, 1, 3]) {
    const x = new Float64Array(400);
    for (let j = cols.colPtr[l]; j < cols.colPtr[l + 1]; j++) x[cols.token[j]] = cols.value[j];
    const mean = x.reduce((a, b) => a + b, 0) / 400;
    let num = 0;
    let den = 0;
    for (let i = 0; i < 400; i++) {
      den += (x[i] - mean) ** 2;
      if (i < 399) num += (x[i] - mean) * (x[i + 1] - mean);
    }
    assert.ok(Math.abs(lagOneAutocorrelation(cols, l, s.positionOf, 400) - num / den) < 1e-9, `latent ${l}`);
  }
  const slow = ar1Codes(3, 2000, 6, 0.95);
  const long = blockScheme(toColumns(slow.codes, 2000, 6), slow.group, () => true);
  const rho = long.autocorrelation;
  assert.ok(rho > 0.8, `AR(1) with ρ 0.95, thresholded: ${rho}`);
  assert.equal(long.length, Math.max(MIN_LENGTH, long.longestRun, Math.ceil((1 + rho) / (1 - rho))), 'the length follows the autocorrelation');
  assert.ok(long.length > MIN_LENGTH);
});

/** The best injective assignment of rows to columns, by brute force. */
function bestAssignment(value: Float64Array, rows: number, cols: number): number {
  let best = -Infinity;
  const used = new Uint8Array(cols);
  const go = (i: number, acc: number) => {
    if (i === rows) {
      best = Math.max(best, acc);
      return;
    }
    for (let t = 0; t < cols; t++) {
      if (used[t]) continue;
      used[t] = 1;
      go(i + 1, acc + value[i * cols + t]);
      used[t] = 0;
    }
  };
  go(0, 0);
  return best;
}

test('assignment bound: feasible potentials (value ≤ U + V, V ≥ 0) whose total is the best assignment', () => {
  const rng = new Rng(11);
  for (const [rows, cols] of [
    [1, 1],
    [3, 3],
    [3, 6],
    [5, 7],
  ]) {
    const value = Float64Array.from({ length: rows * cols }, () => (rng.uniform() < 0.4 ? 0 : rng.range(-1, 5)));
    const { u, v } = assignmentDuals(value, rows, cols);
    for (let i = 0; i < rows; i++) for (let t = 0; t < cols; t++) assert.ok(value[i * cols + t] <= u[i] + v[t] + 1e-9, `${rows}×${cols} (${i}, ${t})`);
    assert.ok(v.every((x) => x >= -1e-12));
    const total = u.reduce((a, b) => a + b, 0) + v.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - bestAssignment(value, rows, cols)) < 1e-9, `${rows}×${cols}: ${total}`);
    const trivial = rowMaxDuals(value, rows, cols);
    assert.ok(trivial.u.reduce((a, b) => a + b, 0) >= total - 1e-9, 'row maxima bound it too, more loosely');
  }
});
