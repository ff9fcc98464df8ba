import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng';
import { createOrtEngine } from '../../../src/core/sae/ortEngine';
import type { SaeHyper } from '../../../src/core/sae/types';
import { referenceObjective } from './referenceObjective';

function data(seed: number, n: number, d: number, L: number) {
  const rng = new Rng(seed);
  const x = rng.fillNormal(new Float32Array(n * d), 1);
  const bound = 1 / Math.sqrt(d);
  const w0 = rng.fillUniform(new Float32Array(d * L), -bound, bound);
  return { x, w0 };
}

const hyper = (o: Partial<SaeHyper> & Pick<SaeHyper, 'dIn' | 'nLatents' | 'k'>): SaeHyper => ({ l1: 0, decor: 0, lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, ...o });

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

const terms: [string, number, number][] = [
  ['MSE only', 0, 0],
  ['MSE + L1', 0.5, 0],
  ['MSE + decor', 0, 0.3],
  ['MSE + L1 + decor', 0.5, 0.3],
];
for (const [name, l1, decor] of terms) {
  test(`gradient matches central differences of the float64 loss: ${name}`, async () => {
    const n = 6, d = 5, L = 12, k = 3;
    const h = hyper({ dIn: d, nLatents: L, k, l1, decor });
    const { x, w0 } = data(7, n, d, L);
    const engine = await createOrtEngine({ hyper: h, w0, threads: 1, provider: 'cpu', blocks: 2, gradOutput: true });
    const r = await engine.step(x, n);
    const grad = engine.lastGradient();
    await engine.dispose();

    const ref = referenceObjective(w0, x, n, h);
    for (const key of ['loss', 'mse', 'l1', 'sse'] as const) assert.ok(relErr(r[key], ref[key]) < 1e-5, `${key}: ${r[key]} vs ${ref[key]}`);
    if (decor > 0) assert.ok(relErr(r.decor, ref.decor) < 1e-5, `decor: ${r.decor} vs ${ref.decor}`);
    else assert.equal(r.decor, 0, 'the covariance term is not computed when its weight is 0');

    const w = Float64Array.from(w0);
    const eps = 1e-6;
    let checked = 0;
    for (let e = 0; e < d * L; e += 1) {
      const keep = w[e];
      w[e] = keep + eps;
      const up = referenceObjective(w, x, n, h).loss;
      w[e] = keep - eps;
      const down = referenceObjective(w, x, n, h).loss;
      w[e] = keep;
      const fd = (up - down) / (2 * eps);
      assert.ok(Math.abs(grad[e] - fd) <= 1e-4 * Math.abs(fd) + 1e-6, `∂loss/∂W[${Math.floor(e / L)}, ${e % L}]: graph ${grad[e]}, differences ${fd}`);
      if (fd !== 0) checked++;
    }
    assert.ok(checked > (d * L) / 4, `only ${checked} non-zero gradient entries checked`);
  });
}

test('Adam steps match a JS reference of PyTorch Adam with bias correction', async () => {
  const n = 8, d = 6, L = 16, k = 4;
  const h = hyper({ dIn: d, nLatents: L, k, l1: 0.2, decor: 0.1, lr: 1e-2 });
  const { x, w0 } = data(3, n, d, L);
  const engine = await createOrtEngine({ hyper: h, w0, threads: 1, provider: 'cpu', gradOutput: true });
  const w = Float64Array.from(w0);
  const m = new Float64Array(d * L);
  const v = new Float64Array(d * L);
  for (let step = 1; step <= 4; step++) {
    await engine.step(x, n);
    const g = engine.lastGradient(); // at the weights before this step
    for (let e = 0; e < w.length; e++) {
      m[e] = h.beta1 * m[e] + (1 - h.beta1) * g[e];
      v[e] = h.beta2 * v[e] + (1 - h.beta2) * g[e] * g[e];
      const mHat = m[e] / (1 - h.beta1 ** step);
      const vHat = v[e] / (1 - h.beta2 ** step);
      w[e] -= (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
    }
    const got = await engine.weights();
    for (let e = 0; e < w.length; e++) {
      const moved = w[e] - w0[e];
      assert.ok(Math.abs(got[e] - w0[e] - moved) <= 1e-4 * Math.abs(moved) + 1e-7, `step ${step}, W[${e}]: moved ${got[e] - w0[e]}, reference ${moved}`);
    }
  }
  await engine.dispose();
});

test('same seed and thread count give bit-identical weights and losses twice', async () => {
  const n = 96, d = 32, L = 512, k = 24;
  const h = hyper({ dIn: d, nLatents: L, k, l1: 0.1, decor: 0.01, lr: 1e-3 });
  const { x, w0 } = data(11, n, d, L);
  const run = async () => {
    const engine = await createOrtEngine({ hyper: h, w0, threads: 2, provider: 'cpu', blocks: 4 });
    const losses: number[] = [];
    for (let s = 0; s < 5; s++) losses.push((await engine.step(x, n)).loss);
    const w = await engine.weights();
    await engine.dispose();
    return { losses, w };
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(a.losses, b.losses);
  assert.ok(Buffer.from(a.w.buffer).equals(Buffer.from(b.w.buffer)), 'weights differ between two identical runs');
});

test('step statistics: l0, fired latents and the top-k prefilter agree with the reference', async () => {
  const n = 40, d = 8, L = 64, k = 5; // L/4 > k: the threshold goes through the block-max prefilter
  const h = hyper({ dIn: d, nLatents: L, k });
  const { x, w0 } = data(5, n, d, L);
  const engine = await createOrtEngine({ hyper: h, w0, threads: 2, provider: 'cpu', blocks: 3 });
  const r = await engine.step(x, n);
  await engine.dispose();
  const { z, mse } = referenceObjective(w0, x, n, h);
  const fired = new Uint8Array(L);
  let nnz = 0;
  for (let t = 0; t < n; t++) for (let j = 0; j < L; j++) if (z[t * L + j] !== 0) (fired[j] = 1), nnz++;
  assert.equal(r.l0, Math.fround(nnz / n));
  assert.deepEqual(r.fired, fired);
  assert.ok(relErr(r.mse, mse) < 1e-5);
});

test('encode returns each token’s codes by descending value, equal to a JS top-k, in chunks (kernels and graph)', async () => {
  const n = 1100, d = 6, L = 40, k = 4; // more tokens than one encode chunk
  const h = hyper({ dIn: d, nLatents: L, k });
  const { x, w0 } = data(9, n, d, L);
  const ref = referenceObjective(w0, x, n, h);
  for (const step of ['auto', 'graph'] as const) {
    const engine = await createOrtEngine({ hyper: h, w0, threads: 2, provider: 'cpu', step });
    const { codes, sse } = await engine.encode(x, n);
    await engine.dispose();
    assert.ok(relErr(sse, ref.sse) < 1e-5, `${step}: sse ${sse}, reference ${ref.sse}`);
    assert.equal(codes.rowPtr[n], codes.index.length);
    for (let t = 0; t < n; t++) {
      const want = [...Array(L).keys()].filter((j) => ref.z[t * L + j] > 0).sort((a, b) => ref.z[t * L + b] - ref.z[t * L + a] || a - b);
      const got = Array.from(codes.index.subarray(codes.rowPtr[t], codes.rowPtr[t + 1]));
      assert.deepEqual(got, want, `${step}: token ${t}`);
      got.forEach((j, p) => assert.ok(relErr(codes.value[codes.rowPtr[t] + p], ref.z[t * L + j]) < 1e-5));
    }
  }
});

test('values tied with the k-th largest are all kept, in training and in encode', async () => {
  const n = 10, d = 4, L = 16, k = 3;
  const h = hyper({ dIn: d, nLatents: L, k });
  const { x, w0 } = data(2, n, d, L);
  // Every latent has three exact copies (columns j, j+4, j+8, j+12), so each value of r appears four
  // times in a row and the k-th largest (k = 3) always ties with a fourth.
  for (let i = 0; i < d; i++) for (let j = 4; j < L; j++) w0[i * L + j] = w0[i * L + (j % 4)];
  const ref = referenceObjective(w0, x, n, h);
  let refNnz = 0;
  for (const v of ref.z) if (v > 0) refNnz++;
  assert.ok(refNnz > n * k, 'the data has no tie at the k-th value; pick another seed');
  for (const step of ['auto', 'graph'] as const) {
    const engine = await createOrtEngine({ hyper: h, w0, threads: 1, provider: 'cpu', step });
    const { codes } = await engine.encode(x, n);
    const r = await engine.step(x, n);
    await engine.dispose();
    assert.equal(codes.index.length, refNnz, step);
    assert.equal(r.l0, Math.fround(refNnz / n), step);
  }
});

test('a forced CUDA provider that cannot load is a clear error', async (t) => {
  const h = hyper({ dIn: 2, nLatents: 4, k: 1 });
  const probe = await createOrtEngine({ hyper: h, w0: new Float32Array(8), threads: 1, provider: 'auto' }).then(async (e) => (await e.dispose(), e.device));
  if (probe.startsWith('cuda')) {
    t.skip(`CUDA works on this machine (${probe}), so a forced CUDA engine cannot fail here`);
    return;
  }
  await assert.rejects(createOrtEngine({ hyper: h, w0: new Float32Array(8), threads: 1, provider: 'cuda' }), /CUDA execution provider could not start/);
});

test('a latent block where nothing fires gets zero gradient and keeps its weights', async () => {
  const n = 6, d = 5, L = 12, k = 3;
  const h = hyper({ dIn: d, nLatents: L, k, l1: 0.5, decor: 0.3, lr: 1e-2 });
  const { x, w0 } = data(4, n, d, L);
  for (let e = 0; e < x.length; e++) x[e] = Math.abs(x[e]);
  for (let i = 0; i < d; i++) for (let j = 8; j < L; j++) w0[i * L + j] = -Math.abs(w0[i * L + j]); // latents 8–11 never fire
  const engine = await createOrtEngine({ hyper: h, w0, threads: 1, provider: 'cpu', blocks: 3, gradOutput: true });
  const r = await engine.step(x, n);
  const grad = engine.lastGradient();
  const ref = referenceObjective(w0, x, n, h);
  assert.ok(relErr(r.loss, ref.loss) < 1e-5);
  assert.deepEqual(Array.from(r.fired.subarray(8)), [0, 0, 0, 0]);
  for (let i = 0; i < d; i++) for (let j = 8; j < L; j++) assert.equal(grad[i * L + j], 0);
  await engine.step(x, n);
  assert.deepEqual(Array.from((await engine.weights()).filter((_, e) => e % L >= 8)), Array.from(w0.filter((_, e) => e % L >= 8)));
  await engine.dispose();
});
