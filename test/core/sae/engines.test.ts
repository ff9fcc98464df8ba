import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUXK_ALPHA, saeConfig } from '../../../src/core/sae/config';
import { trainSae, type TrainResult } from '../../../src/core/sae/train';
import { mixtureActivations } from '../../fixtures/mixtures';

const T = 96;
const dIn = 32;

/** Sparse non-negative mixtures of 40 directions plus noise: structured like real activations, unlike isotropic noise. */
const activations = (seed: number) => mixtureActivations({ T, dIn, directions: 40, perToken: 4, cMin: 0.5, noise: 0.1, seed });

function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += a[i] ** 2;
  }
  return Math.sqrt(d / n);
}

const shape = { dIn, nLatents: 128, k: 12 };

/** Curves without wall times, for exact comparison. */
const curve = (r: TrainResult) => r.metrics.curve.map(({ ms: _ms, ...m }) => m);

for (const [name, l1, decor, auxk] of [
  ['MSE only (seed preset terms)', 0, 0, 0],
  ['MSE + λ1 + λc (course preset terms)', 1, 0.0005, 0],
  ['MSE + AuxK (corpus runs; the sparse kernels)', 0, 0, AUXK_ALPHA],
  ['MSE + λ1 + λc + AuxK (the train graph)', 1, 0.0005, AUXK_ALPHA],
] as const) {
  test(`ort and tfjs from the same seed agree after 10 Adam steps: ${name}`, async () => {
    const x = activations(5);
    const cfg = saeConfig({ l1, decor, lr: 1e-3, epochs: 10, seed: 3, auxk });
    const ort = await trainSae(x, T, dIn, shape, cfg, { engine: 'ort', threads: 2 });
    const tfjs = await trainSae(x, T, dIn, shape, cfg, { engine: 'tfjs' });
    assert.equal(ort.metrics.engine, 'ort');
    assert.equal(tfjs.metrics.engine, 'tfjs');
    for (let e = 0; e < 10; e++) {
      const a = ort.metrics.curve[e].loss;
      const b = tfjs.metrics.curve[e].loss;
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(a), `epoch ${e + 1}: loss ${a} (ort) vs ${b} (tfjs)`);
    }
    const d = relDiff(ort.w, tfjs.w);
    assert.ok(d <= 1e-4, `‖W_ort − W_tfjs‖ / ‖W_ort‖ = ${d}`);
    if (auxk > 0) {
      assert.ok(ort.metrics.curve.some((m) => m.auxk! > 0), 'no epoch had dead latents');
      ort.metrics.curve.forEach((m, e) => assert.ok(Math.abs(m.auxk! - tfjs.metrics.curve[e].auxk!) <= 1e-4 * Math.abs(m.auxk!), `epoch ${e + 1}: auxk ${m.auxk} vs ${tfjs.metrics.curve[e].auxk}`));
    }
  });
}

for (const [name, decor, auxk] of [
  ['the train graph', 0.0005, 0],
  ['the sparse kernels, with AuxK', 0, AUXK_ALPHA],
] as const) test(`the same seed and thread count give bit-identical results twice on ORT CPU (${name})`, async () => {
  const x = activations(6);
  const cfg = saeConfig({ l1: 1, decor, lr: 1e-3, epochs: 10, seed: 11, auxk });
  const a = await trainSae(x, T, dIn, shape, cfg, { engine: 'ort', threads: 2 });
  const b = await trainSae(x, T, dIn, shape, cfg, { engine: 'ort', threads: 2 });
  assert.deepEqual(b.w, a.w);
  assert.deepEqual(curve(b), curve(a));
  assert.deepEqual(b.codes, a.codes);
  assert.deepEqual(b.metrics.final, a.metrics.final);
});
