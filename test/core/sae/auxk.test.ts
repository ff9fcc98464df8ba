import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng';
import { DeadLatents } from '../../../src/core/sae/deadLatents';
import { createOrtEngine } from '../../../src/core/sae/ortEngine';
import { loadTfjs, lossAndGrad } from '../../../src/core/sae/tfjsEngine';
import { totalVariance } from '../../../src/core/sae/metrics';
import type { SaeHyper } from '../../../src/core/sae/types';
import { auxAfter, referenceObjective } from './referenceObjective';

const n = 6;
const d = 5;
const L = 24;
const k = 2;
const hyper = (o: Partial<SaeHyper> = {}): SaeHyper => ({ dIn: d, nLatents: L, k, l1: 0, decor: 0, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, auxk: 0.5, kAux: 3, deadTokens: n, ...o });

function data(seed: number) {
  const rng = new Rng(seed);
  const x = rng.fillNormal(new Float32Array(n * d), 1);
  const bound = 1 / Math.sqrt(d);
  return { x, w0: rng.fillUniform(new Float32Array(d * L), -bound, bound) };
}

/** Central differences of the float64 objective at w (with the step's dead latents) against grad [d, L]; entries whose step crosses a gate are skipped. */
function checkGradient(grad: ArrayLike<number>, w32: ArrayLike<number>, x: Float32Array, h: SaeHyper, aux: ReturnType<typeof auxAfter>, what: string) {
  const w = Float64Array.from(w32);
  aux = { ...aux, e: referenceObjective(w, x, n, h).resid }; // e = x − x̂ is a constant of the term
  const eps = 1e-6;
  let checked = 0;
  for (let e = 0; e < d * L; e++) {
    const keep = w[e];
    w[e] = keep + eps;
    const up = referenceObjective(w, x, n, h, aux);
    w[e] = keep - eps;
    const down = referenceObjective(w, x, n, h, aux);
    w[e] = keep;
    if (up.gate !== down.gate) continue;
    const fd = (up.loss - down.loss) / (2 * eps);
    assert.ok(Math.abs(grad[e] - fd) <= 1e-4 * Math.abs(fd) + 1e-6, `${what}: ∂loss/∂W[${Math.floor(e / L)}, ${e % L}] = ${grad[e]}, differences ${fd}`);
    if (fd !== 0) checked++;
  }
  assert.ok(checked > (d * L) / 4, `${what}: only ${checked} non-zero gradient entries checked`);
}

for (const [name, step, l1, decor] of [
  ['sparse kernels, MSE + AuxK', 'auto', 0, 0],
  ['sparse kernels, MSE + L1 + AuxK', 'auto', 0.5, 0],
  ['train graph, MSE + AuxK', 'graph', 0, 0],
  ['train graph, all terms + AuxK', 'graph', 0.5, 0.3],
] as const) {
  test(`AuxK: the ORT gradient matches central differences of the float64 loss (${name})`, async () => {
    const h = hyper({ l1, decor });
    const { x, w0 } = data(7);
    const engine = await createOrtEngine({ hyper: h, w0, threads: 2, provider: 'cpu', blocks: 2, gradOutput: true, step });
    // Step 1 has no dead latent (none has gone n tokens without firing); the latents it leaves unfired are dead in step 2.
    const first = await engine.step(x, n);
    assert.equal(first.auxk, 0);
    const aux = auxAfter(first.fired, h);
    assert.ok(aux.k > 0 && aux.k <= 3, `${aux.k} dead latents used`);
    const w1 = await engine.weights();
    const r = await engine.step(x, n);
    const grad = engine.lastGradient();
    await engine.dispose();
    const ref = referenceObjective(w1, x, n, h, aux);
    assert.ok(ref.auxk > 0);
    for (const key of ['loss', 'mse', 'auxk'] as const) assert.ok(Math.abs(r[key] - ref[key]) <= 1e-5 * Math.abs(ref[key]), `${key}: ${r[key]} vs ${ref[key]}`);
    checkGradient(grad, w1, x, h, aux, name);
  });
}

test('AuxK: the tfjs gradient matches central differences of the float64 loss', async () => {
  const { tf } = await loadTfjs();
  const h = hyper({ l1: 0.5, decor: 0.3 });
  const { x, w0 } = data(8);
  const fired = Uint8Array.from({ length: L }, (_, j) => (j % 3 === 0 ? 0 : 1)); // every third latent dead
  const aux = auxAfter(fired, h);
  const norm = aux.scale / totalVariance(x, n, d);
  const r = tf.tidy(() => {
    const out = lossAndGrad(tf, tf.tensor2d(x, [n, d]), tf.tensor2d(w0, [d, L]), h, { mask: Float32Array.from(aux.dead), k: aux.k, norm });
    return { grad: out.grad.dataSync(), auxk: out.auxk.dataSync()[0] };
  });
  const ref = referenceObjective(w0, x, n, h, aux);
  assert.ok(Math.abs(r.auxk - ref.auxk) <= 1e-5 * ref.auxk, `${r.auxk} vs ${ref.auxk}`);
  checkGradient(r.grad, w0, x, h, aux, 'tfjs');
});

test('AuxK off (α = 0) changes nothing: the same weights as without the AuxK fields', async () => {
  const { x, w0 } = data(9);
  const run = async (h: SaeHyper) => {
    const e = await createOrtEngine({ hyper: h, w0, threads: 2, provider: 'cpu' });
    for (let s = 0; s < 3; s++) assert.equal((await e.step(x, n)).auxk, 0);
    const w = await e.weights();
    await e.dispose();
    return w;
  };
  const { auxk: _a, kAux: _k, deadTokens: _t, ...plain } = hyper();
  assert.deepEqual(await run({ ...plain, auxk: 0, deadTokens: 1 }), await run(plain));
});

test('dead latents: dead after deadTokens tokens without firing, k′ = min(kAux, dead), s = min(dead / kAux, 1)', () => {
  const h = hyper({ nLatents: 4, kAux: 2, deadTokens: 10 });
  const dead = new DeadLatents(h);
  assert.equal(dead.next(), undefined, 'nothing is dead before any step');
  dead.update(Uint8Array.of(1, 0, 0, 1), 6);
  assert.equal(dead.next(), undefined, '6 tokens without firing are fewer than 10');
  dead.update(Uint8Array.of(0, 1, 0, 1), 4);
  const a = dead.next()!;
  assert.deepEqual(Array.from(a.mask), [0, 0, 1, 0], 'latent 2 has gone 10 tokens without firing; latent 1 fired in the last step');
  assert.deepEqual([a.dead, a.k, a.scale], [1, 1, 0.5]);
  dead.update(Uint8Array.of(0, 0, 0, 0), 10);
  const b = dead.next()!;
  assert.deepEqual([b.dead, b.k, b.scale], [4, 2, 1]);
  assert.equal(new DeadLatents({ ...h, auxk: 0 }).next(), undefined, 'α = 0: no AuxK inputs at all');
});
