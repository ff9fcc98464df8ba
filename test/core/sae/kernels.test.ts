import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaProviderInstalled } from '../../../src/core/ortSessions';
import { Rng } from '../../../src/core/rng';
import { CHUNK } from '../../../src/core/sae/kernelEngine';
import { DENSE_SHARE } from '../../../src/core/sae/denseLatents';
import { createOrtEngine, type OrtEngine } from '../../../src/core/sae/ortEngine';
import type { SaeHyper } from '../../../src/core/sae/types';
import { buildKernels } from '../../../src/core/sae/wasm/kernels';
import { relaxedSimd } from '../../../src/core/sae/wasm/relaxedSimd';

/** The sparse WebAssembly kernels (the default CPU step) against the ONNX train graph, their oracle. */

const hyper = (o: Partial<SaeHyper> & Pick<SaeHyper, 'dIn' | 'nLatents' | 'k'>): SaeHyper => ({ l1: 0, decor: 0, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, ...o });

function data(seed: number, n: number, d: number, L: number) {
  const rng = new Rng(seed);
  const x = rng.fillNormal(new Float32Array(n * d), 1);
  const shared = rng.fillNormal(new Float32Array(d), 2); // a common direction, as real activations have
  for (let e = 0; e < x.length; e++) x[e] += shared[e % d];
  const bound = 1 / Math.sqrt(d);
  return { x, w0: rng.fillUniform(new Float32Array(d * L), -bound, bound) };
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** The kernels' variants: fused multiply-adds where the runtime has them, and separate multiply and add. */
const FMA = relaxedSimd() ? [true, false] : [false];
/** Dense-latent shares: the default, every latent with an entry dense (but AuxK's), none dense. */
const SHARES = [DENSE_SHARE, 0, 2];

async function compare(h: SaeHyper, n: number, steps: number, seed: number, tweak?: (w0: Float32Array) => void) {
  let sawAux = false;
  for (const fma of FMA) for (const denseShare of SHARES) sawAux = (await compareVariant(h, n, steps, seed, fma, denseShare, tweak)).sawAux || sawAux;
  return { sawAux };
}

async function compareVariant(h: SaeHyper, n: number, steps: number, seed: number, fma: boolean, denseShare: number, tweak?: (w0: Float32Array) => void) {
  const { x, w0 } = data(seed, n, h.dIn, h.nLatents);
  tweak?.(w0);
  const engines: OrtEngine[] = [];
  for (const step of ['auto', 'graph'] as const) engines.push(await createOrtEngine({ hyper: h, w0, threads: 2, provider: 'cpu', gradOutput: true, step, fma, denseShare }));
  const [kernels, graph] = engines;
  let sawAux = false;
  for (let s = 1; s <= steps; s++) {
    const a = await kernels.step(x, n);
    const b = await graph.step(x, n);
    const variant = `${fma ? 'fused multiply-add' : 'multiply and add'}, dense share ${denseShare}`;
    for (const key of ['loss', 'mse', 'l1', 'auxk', 'l0', 'sse'] as const) {
      assert.ok(Math.abs(a[key] - b[key]) <= 1e-5 * Math.abs(b[key]), `step ${s} ${key} (${variant}): kernels ${a[key]}, graph ${b[key]}`);
    }
    assert.deepEqual(a.fired, b.fired, `step ${s} (${variant}): fired latents`);
    const ga = kernels.lastGradient();
    const gb = graph.lastGradient();
    assert.ok(maxDiff(ga, gb) <= 1e-5 * maxAbs(gb), `step ${s} (${variant}): max |∇W kernels − ∇W graph| = ${maxDiff(ga, gb)}, max |∇W| = ${maxAbs(gb)}`);
    sawAux ||= b.auxk > 0;
    const wa = await kernels.weights();
    const wb = await graph.weights();
    assert.ok(maxDiff(wa, wb) <= 1e-5 * maxAbs(wb), `step ${s} (${variant}): max |W kernels − W graph| = ${maxDiff(wa, wb)}`);
  }
  for (const e of engines) await e.dispose();
  return { sawAux };
}

test('the kernels module is valid WebAssembly for any width (rows padded to 32)', () => {
  for (const dp of [32, 64, 768, 3072]) assert.ok(WebAssembly.validate(buildKernels({ dp, L: 100 })));
  assert.throws(() => buildKernels({ dp: 40, L: 8 }), /multiple of 32/);
});

test('kernels = train graph to 1e-5: MSE + L1, several chunks, a width that is not a multiple of 32, odd latent count', async () => {
  await compare(hyper({ dIn: 20, nLatents: 75, k: 6, l1: 0.3 }), CHUNK * 2 + 37, 3, 1);
});

test('kernels = train graph to 1e-5 with AuxK (dead latents after the first step)', async () => {
  const n = 300;
  const r = await compare(hyper({ dIn: 24, nLatents: 96, k: 4, auxk: 1 / 32, kAux: 12, deadTokens: n }), n, 3, 2);
  assert.ok(r.sawAux, 'no step had dead latents; pick another seed');
});

test('kernels = train graph to 1e-5 with ties at the k-th value (more than k kept)', async () => {
  const d = 8;
  const L = 32;
  // Every latent has three exact copies, so each value of r appears four times in a row.
  await compare(hyper({ dIn: d, nLatents: L, k: 3 }), 50, 2, 3, (w0) => {
    for (let i = 0; i < d; i++) for (let j = 8; j < L; j++) w0[i * L + j] = w0[i * L + (j % 8)];
  });
});

test('kernels = train graph to 1e-5 with 16-fold ties (more entries than the planned k + 8 per token: the entry regions grow)', async () => {
  const d = 8;
  const L = 64;
  await compare(hyper({ dIn: d, nLatents: L, k: 3, auxk: 1 / 32, kAux: 2, deadTokens: 40 }), 40, 3, 7, (w0) => {
    for (let i = 0; i < d; i++) for (let j = 4; j < L; j++) w0[i * L + j] = w0[i * L + (j % 4)];
  });
});

test('kernels = train graph to 1e-5 when fewer than k values are positive (threshold 0)', async () => {
  const d = 6;
  const L = 40;
  await compare(hyper({ dIn: d, nLatents: L, k: 30 }), 20, 2, 4);
});

test('the sparse kernels give bit-identical results on 1 and 2 threads; with dense latents, the same thread count does, and 1 and 2 threads agree to float rounding', async () => {
  const h = hyper({ dIn: 32, nLatents: 128, k: 8, l1: 0.1, auxk: 1 / 32, deadTokens: 200 });
  const n = CHUNK + 100;
  const { x, w0 } = data(5, n, h.dIn, h.nLatents);
  const run = async (threads: number, fma: boolean, denseShare: number) => {
    const e = await createOrtEngine({ hyper: h, w0, threads, provider: 'cpu', fma, denseShare });
    const losses: number[] = [];
    for (let s = 0; s < 4; s++) losses.push((await e.step(x, n)).loss);
    const w = await e.weights();
    await e.dispose();
    return { losses, w };
  };
  const same = (a: { w: Float32Array }, b: { w: Float32Array }) => Buffer.from(a.w.buffer).equals(Buffer.from(b.w.buffer));
  for (const fma of FMA) {
    // The kernels split their work so that sums never depend on it.
    const one = await run(1, fma, 2);
    const two = await run(2, fma, 2);
    assert.deepEqual(two.losses, one.losses, `fma ${fma}`);
    assert.ok(same(two, one), `weights differ between 1 and 2 threads (fma ${fma})`);
    // onnxruntime's GEMM blocks its sums by how much of the output each thread gets (small products here).
    const dense = [await run(2, fma, DENSE_SHARE), await run(2, fma, DENSE_SHARE), await run(1, fma, DENSE_SHARE)];
    assert.deepEqual(dense[1].losses, dense[0].losses, `fma ${fma}, dense`);
    assert.ok(same(dense[1], dense[0]), `weights differ between two runs on 2 threads (fma ${fma}, dense)`);
    assert.ok(maxDiff(dense[2].w, dense[0].w) <= 1e-5 * maxAbs(dense[0].w), `1 and 2 threads (fma ${fma}, dense): max |ΔW| = ${maxDiff(dense[2].w, dense[0].w)}`);
  }
});

test('relaxed SIMD is found where the runtime has it (Node 20 behind a flag this turns on, Node 22 and Electron built in)', () => {
  const [major] = process.versions.node.split('.').map(Number);
  if (major >= 20) assert.equal(relaxedSimd(), true);
  assert.ok(WebAssembly.validate(buildKernels({ dp: 32, L: 100, fma: relaxedSimd() })));
});

test('where onnxruntime-node has its CUDA provider, training runs on CUDA (the train graph) and agrees with the CPU kernels', async (t) => {
  if (!cudaProviderInstalled()) {
    t.skip('no CUDA here: onnxruntime-node\'s CUDA provider library is not installed (README, "GPU")');
    return;
  }
  const h = hyper({ dIn: 32, nLatents: 128, k: 8, auxk: 1 / 32, deadTokens: 64 });
  const n = 64;
  const { x, w0 } = data(6, n, h.dIn, h.nLatents);
  const gpu = await createOrtEngine({ hyper: h, w0, provider: 'auto' });
  if (!gpu.device.startsWith('cuda')) {
    await gpu.dispose();
    t.skip(`the CUDA provider library is installed but did not start (the engine fell back to ${gpu.device})`);
    return;
  }
  const cpu = await createOrtEngine({ hyper: h, w0, threads: 2, provider: 'cpu' });
  for (let s = 1; s <= 3; s++) {
    const a = await gpu.step(x, n);
    const b = await cpu.step(x, n);
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-4 * Math.abs(b.loss), `step ${s}: loss ${a.loss} (CUDA) vs ${b.loss} (CPU)`);
  }
  const wa = await gpu.weights();
  const wb = await cpu.weights();
  assert.ok(maxDiff(wa, wb) <= 1e-4 * maxAbs(wb), `max |W CUDA − W CPU| = ${maxDiff(wa, wb)}`);
  await gpu.dispose();
  await cpu.dispose();
});
