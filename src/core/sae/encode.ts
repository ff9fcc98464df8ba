import * as ort from 'onnxruntime-node';
import { throwIfAborted } from '../errors';
import { deviceText, openSessions, type Provider, type ProviderRequest } from '../ortSessions';
import { buildEncodeGraph, type EncodeGraphSpec } from './encodeGraph';
import { normalizeInput, reconstruct, type SaeModel } from './model';
import type { SparseCodes } from './types';

export interface EncodeOptions {
  /** Intra-op threads; undefined: onnxruntime's choice. */
  threads?: number;
  provider?: ProviderRequest;
  signal?: AbortSignal;
}

export interface Encoded {
  /** CSR, rows = tokens, each row by descending value. */
  codes: SparseCodes;
  /** Σ_t ‖x_t − x̂_t‖², accumulated in float64. */
  sse: number;
  /** What ran, e.g. "cpu (2 threads)". */
  device: string;
}

/** Tokens per run: bounds the [tokens, d_sae] intermediates (256 × 32768 floats = 32 MB each). */
const CHUNK = 256;

const sessions = new Map<string, Promise<{ session: ort.InferenceSession; provider: Provider }>>();

function session(spec: EncodeGraphSpec, o: EncodeOptions) {
  const key = JSON.stringify([spec, o.threads ?? null, o.provider ?? 'auto']);
  let s = sessions.get(key);
  if (!s) {
    s = openSessions([buildEncodeGraph(spec)], o.provider ?? 'auto', {
      ...(o.threads === undefined ? {} : { intraOpNumThreads: o.threads }),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    }).then(({ sessions: [session], provider }) => ({ session, provider }));
    sessions.set(key, s);
    s.catch(() => sessions.delete(key));
  }
  return s;
}

/**
 * Encodes x [T, d_in] with the SAE (model.ts defines the rule): the normalisation in float64 per
 * token, the encoder on onnxruntime in chunks of CHUNK tokens, and the sparse decode for Σ‖x − x̂‖².
 */
export async function encodeSae(m: SaeModel, x: Float32Array, T: number, o: EncodeOptions = {}): Promise<Encoded> {
  if (x.length !== T * m.dIn) throw new Error(`x has ${x.length} values, not T·d_in = ${T * m.dIn}`);
  const spec: EncodeGraphSpec = { dIn: m.dIn, dSae: m.dSae, activation: m.activation.kind, ...(m.activation.kind === 'topk' ? { k: m.activation.k } : {}) };
  const { session: s, provider } = await session(spec, o);
  const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
  const weights: Record<string, ort.Tensor> = {
    W_enc: f32(m.wEnc, [m.dIn, m.dSae]),
    b_enc: f32(m.bEnc, [m.dSae]),
    ...(m.activation.kind === 'jumprelu' ? { threshold: f32(m.activation.threshold, [m.dSae]) } : {}),
  };
  const norm = normalizeInput(m, x, T);
  const rowPtr = new Int32Array(T + 1);
  const index: number[] = [];
  const value: number[] = [];
  for (let from = 0; from < T; from += CHUNK) {
    throwIfAborted(o.signal, 'encoding');
    const n = Math.min(CHUNK, T - from);
    const out = await s.run({ ...weights, x: f32(norm.input.subarray(from * m.dIn, (from + n) * m.dIn), [n, m.dIn]) });
    const vals = out.values.data as Float32Array;
    const ids = out.indices.data as BigInt64Array;
    const c = out.values.dims[1];
    for (let i = 0; i < n; i++) {
      for (let j = i * c; j < (i + 1) * c && vals[j] > 0; j++) {
        index.push(Number(ids[j]));
        value.push(vals[j]);
      }
      rowPtr[from + i + 1] = index.length;
    }
  }
  const codes: SparseCodes = { rowPtr, index: Int32Array.from(index), value: Float32Array.from(value) };
  let sse = 0;
  const xhat = new Float32Array(CHUNK * m.dIn);
  for (let from = 0; from < T; from += CHUNK) {
    const to = Math.min(T, from + CHUNK);
    reconstruct(m, codes, { mu: norm.mu.subarray(from, to), sOut: norm.sOut.subarray(from, to) }, from, to, xhat);
    for (let j = 0; j < (to - from) * m.dIn; j++) sse += (x[from * m.dIn + j] - xhat[j]) ** 2;
  }
  return { codes, sse, device: deviceText(provider, o.threads) };
}
