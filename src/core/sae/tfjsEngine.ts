import type * as TfTypes from '@tensorflow/tfjs-core';
import { DeadLatents } from './deadLatents';
import { totalVariance } from './metrics';
import { auxkOf, type EngineOptions, type SaeHyper, type SparseCodes, type StepResult, type TrainEngine } from './types';

type Tf = typeof TfTypes;
type Tensor2D = TfTypes.Tensor2D;

/** The tfjs build that loaded and where it computes. */
export interface TfjsBackend {
  tf: Tf;
  /** e.g. "tfjs-node-gpu (GPU)", "tfjs-node (CPU)", "tfjs cpu backend". */
  device: string;
  gpu: boolean;
}

interface NodeBinding {
  isUsingGpuDevice?: () => boolean;
}

// Literal require calls (esbuild keeps both packages external); each is an optionalDependency that
// is usually absent, so a failed require is the normal case, not an error.
function requireNodeGpu(): Tf | undefined {
  try {
    return require('@tensorflow/tfjs-node-gpu') as Tf;
  } catch {
    return undefined;
  }
}

function requireNode(): Tf | undefined {
  try {
    return require('@tensorflow/tfjs-node') as Tf;
  } catch {
    return undefined;
  }
}

async function load(): Promise<TfjsBackend> {
  const gpuBuild = requireNodeGpu();
  if (gpuBuild) {
    await gpuBuild.ready();
    const binding = (gpuBuild.backend() as unknown as { binding?: NodeBinding }).binding;
    const gpu = binding?.isUsingGpuDevice?.() === true;
    return { tf: gpuBuild, device: gpu ? 'tfjs-node-gpu (GPU)' : 'tfjs-node-gpu (CPU: no GPU visible)', gpu };
  }
  const nodeBuild = requireNode();
  if (nodeBuild) {
    await nodeBuild.ready();
    return { tf: nodeBuild, device: 'tfjs-node (CPU)', gpu: false };
  }
  // Only the core and its cpu backend: the whole @tensorflow/tfjs (layers, converter, webgl) would be
  // 3 MB more of every bundle that Node compiles at each start.
  const tf = require('@tensorflow/tfjs-core') as Tf;
  require('@tensorflow/tfjs-backend-cpu');
  tf.env().set('PROD', true); // silences the "install tfjs-node" banner; the device string says what ran
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, device: 'tfjs cpu backend', gpu: false };
}

let backend: Promise<TfjsBackend> | undefined;

/** Loads the best tfjs build present (tfjs-node-gpu, then tfjs-node, then plain tfjs on its cpu backend), once. */
export function loadTfjs(): Promise<TfjsBackend> {
  backend ??= load();
  return backend;
}

/** Whether tfjs-node-gpu is installed and sees a GPU (without loading the slower builds when it is absent). */
export async function tfjsGpuAvailable(): Promise<boolean> {
  return requireNodeGpu() !== undefined && (await loadTfjs()).gpu;
}

/** Forward quantities of one batch (tensors owned by the caller's tidy scope). */
interface Forward {
  pre: Tensor2D; // [n, L] x·W
  gate: Tensor2D; // [n, L] 1 where z ≠ 0: pre > 0 and pre ≥ the token's k-th largest pre
  z: Tensor2D; // [n, L]
  resid: Tensor2D; // [n, dIn] x̂ − x
}

/**
 * Top-k rule: a token keeps every latent whose pre-activation is ≥ its k-th largest (ties at the
 * k-th value are all kept), then ReLU. So z = pre where pre > 0 and pre ≥ kth, else 0.
 */
function forward(tf: Tf, x: Tensor2D, w: Tensor2D, k: number): Forward {
  const pre = tf.matMul(x, w) as Tensor2D;
  const gate = topkGate(tf, pre, k);
  const z = tf.mul(pre, gate) as Tensor2D;
  const resid = tf.sub(tf.matMul(z, w, false, true), x) as Tensor2D;
  return { pre, gate, z, resid };
}

/** 1 where v > 0 and v ≥ its row's k-th largest, else 0 (the top-k rule, ties kept). */
function topkGate(tf: Tf, v: Tensor2D, k: number): Tensor2D {
  const kth = tf.slice(tf.topk(v, k, true).values, [0, k - 1], [-1, 1]);
  return tf.cast(tf.logicalAnd(tf.greater(v, 0), tf.greaterEqual(v, kth)), 'float32') as Tensor2D;
}

/** One step's AuxK inputs (types.ts): the dead mask, k' and s / Σ‖x − x̄‖². */
export interface AuxkInputs {
  mask: Float32Array;
  k: number;
  norm: number;
}

/** Terms of the objective (unweighted) and ∂loss/∂W, as tensors. */
export interface LossAndGrad {
  sse: TfTypes.Scalar; // Σ‖x̂ − x‖²
  absSum: TfTypes.Scalar; // Σ|z|
  decor: TfTypes.Scalar; // Σ_{i≠j} Cov(z)_ij², 0 when hyper.decor = 0 (not computed)
  auxk: TfTypes.Scalar; // AuxK, 0 without AuxK inputs
  active: TfTypes.Scalar; // number of non-zero z
  fired: TfTypes.Tensor1D; // [L] max over tokens of the gate
  grad: Tensor2D; // [dIn, L]
}

/**
 * Analytic gradient of loss = Σr²/(n·dIn) + λ1·Σ|z|/(n·L) + λc·Σ_{i≠j}C_ij², r = x̂ − x,
 * C = Zcᵀ·Zc/(n − 1). With g = 2r/(n·dIn), the tied W gets a decoder part gᵀ·z and an encoder part
 * xᵀ·(∂loss/∂z ⊙ gate), where ∂loss/∂z = g·W + λ1/(n·L) + λc·4·Zc·offdiag(C)/(n − 1) (z ≥ 0, so
 * |z|' = 1 on the gate; centring drops out because Zc's columns sum to zero). With AuxK inputs,
 * α·AuxK adds hᵀ·a + xᵀ·((h·W) ⊙ gate_a), h = 2α·norm·(ê − e), a the AuxK code (types.ts).
 */
export function lossAndGrad(tf: Tf, x: Tensor2D, w: Tensor2D, h: SaeHyper, aux?: AuxkInputs): LossAndGrad {
  const [n, dIn] = x.shape;
  const L = w.shape[1];
  const { pre, gate, z, resid } = forward(tf, x, w, h.k);
  const g = tf.mul(resid, 2 / (n * dIn));
  let dz = tf.matMul(g, w);
  if (h.l1 !== 0) dz = tf.add(dz, h.l1 / (n * L));
  let decor: TfTypes.Scalar = tf.scalar(0);
  if (h.decor !== 0) {
    const zc = tf.sub(z, tf.mean(z, 0, true));
    const cov = tf.div(tf.matMul(zc, zc, true, false), n - 1);
    const offDiag = tf.sub(cov, tf.linalg.bandPart(cov, 0, 0));
    decor = tf.sum(tf.square(offDiag));
    dz = tf.add(dz, tf.mul(tf.matMul(zc, offDiag), (4 * h.decor) / (n - 1)));
  }
  let grad = tf.add(tf.matMul(x, tf.mul(dz, gate), true, false), tf.matMul(g, z, true, false)) as Tensor2D;
  let auxk: TfTypes.Scalar = tf.scalar(0);
  if (aux) {
    const masked = tf.mul(tf.relu(pre), tf.tensor1d(aux.mask)) as Tensor2D;
    const auxGate = topkGate(tf, masked, aux.k);
    const a = tf.mul(masked, auxGate) as Tensor2D;
    const auxDiff = tf.add(tf.matMul(a, w, false, true), resid); // ê − e = ê + (x̂ − x)
    auxk = tf.mul(tf.sum(tf.square(auxDiff)), aux.norm);
    const hh = tf.mul(auxDiff, 2 * auxkOf(h).coef * aux.norm) as Tensor2D;
    grad = tf.add(grad, tf.add(tf.matMul(hh, a, true, false), tf.matMul(x, tf.mul(tf.matMul(hh, w), auxGate), true, false))) as Tensor2D;
  }
  return { sse: tf.sum(tf.square(resid)), absSum: tf.sum(z), decor, auxk, active: tf.sum(gate), fired: tf.max(gate, 0) as TfTypes.Tensor1D, grad };
}

/** Top-k codes of rows with at most k non-zero latents come straight from tf.topk; rows with ties past k are read densely. */
async function sparseCodes(tf: Tf, f: Forward, n: number, k: number): Promise<SparseCodes> {
  const L = f.z.shape[1];
  const top = tf.topk(f.z, k, true);
  const [vals, idx, counts] = await Promise.all([top.values.data() as Promise<Float32Array>, top.indices.data() as Promise<Int32Array>, tf.sum(f.gate, 1).data()]);
  tf.dispose([top.values, top.indices]);
  let nnz = 0;
  for (let t = 0; t < n; t++) nnz += counts[t];
  const rowPtr = new Int32Array(n + 1);
  const index = new Int32Array(nnz);
  const value = new Float32Array(nnz);
  let p = 0;
  for (let t = 0; t < n; t++) {
    if (counts[t] <= k) {
      for (let j = 0; j < counts[t]; j++, p++) {
        index[p] = idx[t * k + j];
        value[p] = vals[t * k + j];
      }
    } else {
      const row = tf.slice(f.z, [t, 0], [1, L]);
      const dense = (await row.data()) as Float32Array;
      row.dispose();
      const ids = [...dense.keys()].filter((i) => dense[i] !== 0).sort((a, b) => dense[b] - dense[a] || a - b);
      for (const i of ids) {
        index[p] = i;
        value[p++] = dense[i];
      }
    }
    rowPtr[t + 1] = p;
  }
  return { rowPtr, index, value };
}

/** The SAE train step on tfjs: the same math as the ort engine (see types.ts), Adam as torch.optim.Adam. */
export async function createTfjsEngine(opts: EngineOptions): Promise<TrainEngine> {
  const { tf, device } = await loadTfjs();
  const h = opts.hyper;
  const shape: [number, number] = [h.dIn, h.nLatents];
  let w = tf.tensor2d(opts.w0, shape);
  let m = tf.zeros(shape) as Tensor2D;
  let v = tf.zeros(shape) as Tensor2D;
  let t = 0;
  const dead = new DeadLatents(h);

  return {
    kind: 'tfjs',
    device,

    async step(x, n) {
      t++;
      const bc1 = 1 - h.beta1 ** t;
      const bc2 = 1 - h.beta2 ** t;
      const a = dead.next();
      const tv = a ? totalVariance(x, n, h.dIn) : 0;
      const aux = a && tv > 0 ? { mask: a.mask, k: a.k, norm: a.scale / tv } : undefined;
      const out = tf.tidy(() => {
        const xt = tf.tensor2d(x, [n, h.dIn]);
        const r = lossAndGrad(tf, xt, w, h, aux);
        // torch.optim.Adam (amsgrad off, no weight decay): W −= lr/bc1 · m / (√v / √bc2 + ε).
        const m1 = tf.add(tf.mul(m, h.beta1), tf.mul(r.grad, 1 - h.beta1));
        const v1 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(r.grad), 1 - h.beta2));
        const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(bc2)), h.eps);
        const w1 = tf.sub(w, tf.mul(tf.div(m1, denom), h.lr / bc1));
        const stats = tf.concat([tf.stack([r.sse, r.absSum, r.decor, r.active, r.auxk]), r.fired]);
        return { w1: tf.keep(w1) as Tensor2D, m1: tf.keep(m1) as Tensor2D, v1: tf.keep(v1) as Tensor2D, stats: tf.keep(stats) };
      });
      tf.dispose([w, m, v]);
      ({ w1: w, m1: m, v1: v } = out);
      const s = (await out.stats.data()) as Float32Array;
      out.stats.dispose();
      const [sse, absSum, decor, active, auxk] = s;
      const mse = sse / (n * h.dIn);
      const l1 = absSum / (n * h.nLatents);
      const fired = Uint8Array.from(s.subarray(5), (f) => (f > 0 ? 1 : 0));
      dead.update(fired, n);
      return { loss: mse + h.l1 * l1 + h.decor * decor + auxkOf(h).coef * auxk, mse, l1, decor, auxk, sse, l0: active / n, fired } satisfies StepResult;
    },

    async weights() {
      return (await w.data()) as Float32Array;
    },

    async encode(x, n) {
      const f = tf.tidy(() => {
        const r = forward(tf, tf.tensor2d(x, [n, h.dIn]), w, h.k);
        return { ...r, sse: tf.sum(tf.square(r.resid)) };
      });
      try {
        const codes = await sparseCodes(tf, f, n, h.k);
        return { codes, sse: (await f.sse.data())[0] };
      } finally {
        tf.dispose([f.pre, f.gate, f.z, f.resid, f.sse]);
      }
    },

    async dispose() {
      tf.dispose([w, m, v]);
    },
  };
}
