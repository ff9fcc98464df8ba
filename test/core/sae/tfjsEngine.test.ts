import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng';
import { initWeights } from '../../../src/core/sae/init';
import { createTfjsEngine, loadTfjs, lossAndGrad } from '../../../src/core/sae/tfjsEngine';
import type { SaeHyper } from '../../../src/core/sae/types';
import { referenceObjective } from './referenceObjective';

const n = 7;
const dIn = 5;
const L = 12;
const k = 4;

function hyper(l1: number, decor: number): SaeHyper {
  return { dIn, nLatents: L, k, l1, decor, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
}

function data(seed: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n * dIn), 1);
}

for (const [name, l1, decor] of [
  ['MSE', 0, 0],
  ['λ1·mean|z|', 1, 0],
  ['λc·Σ Cov²', 0, 0.5],
  ['all terms', 1, 0.0005],
] as const) {
  test(`tfjs gradient matches central finite differences of the float64 objective (${name})`, async () => {
    const { tf } = await loadTfjs();
    const h = hyper(l1, decor);
    const x = data(1);
    const w32 = initWeights(dIn, L, 3);
    const grad = tf.tidy(() => lossAndGrad(tf, tf.tensor2d(x, [n, dIn]), tf.tensor2d(w32, [dIn, L]), h).grad.dataSync());
    const w = Float64Array.from(w32);
    const eps = 1e-5;
    let checked = 0;
    let maxErr = 0;
    let scale = 0;
    for (let j = 0; j < w.length; j++) {
      const w0 = w[j];
      w[j] = w0 + eps;
      const up = referenceObjective(w, x, n, h);
      w[j] = w0 - eps;
      const down = referenceObjective(w, x, n, h);
      w[j] = w0;
      if (up.gate !== down.gate) continue; // the step crossed a ReLU or top-k boundary
      const fd = (up.loss - down.loss) / (2 * eps);
      maxErr = Math.max(maxErr, Math.abs(fd - grad[j]));
      scale = Math.max(scale, Math.abs(fd));
      checked++;
    }
    assert.ok(checked > w.length * 0.9, `only ${checked} of ${w.length} coordinates checked`);
    assert.ok(scale > 0);
    assert.ok(maxErr <= 1e-4 * scale + 1e-6, `max |fd − grad| = ${maxErr}, gradient scale ${scale}`);
  });
}

test('tfjs step reports the loss terms of the forward pass and Adam moves W by about lr per coordinate at step 1', async () => {
  const h = hyper(1, 0.0005);
  const x = data(2);
  const w0 = initWeights(dIn, L, 4);
  const engine = await createTfjsEngine({ hyper: h, w0, threads: 1 });
  const ref = referenceObjective(w0, x, n, h);
  const r = await engine.step(x, n);
  assert.ok(Math.abs(r.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss), `${r.loss} vs ${ref.loss}`);
  assert.equal(r.l0, (ref.gate.match(/1/g) ?? []).length / n);
  const w1 = await engine.weights();
  // Adam's first step is lr·sign(g) (up to ε) on every coordinate with a non-zero gradient.
  let moved = 0;
  for (let j = 0; j < w0.length; j++) {
    const d = Math.abs(w1[j] - w0[j]);
    if (d > 0) {
      moved++;
      assert.ok(Math.abs(d - h.lr) < 1e-6, `coordinate ${j} moved ${d}`);
    }
  }
  assert.ok(moved > 0);
  const { codes, sse } = await engine.encode(x, n);
  assert.equal(codes.rowPtr.length, n + 1);
  assert.ok(sse > 0);
  for (let t = 0; t < n; t++) {
    const row = codes.value.subarray(codes.rowPtr[t], codes.rowPtr[t + 1]);
    assert.ok(row.length <= k);
    for (let j = 1; j < row.length; j++) assert.ok(row[j - 1] >= row[j], 'values descend within a row');
  }
  await engine.dispose();
});
