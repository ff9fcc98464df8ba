import type { SaeConfig, SaeShape } from './config';

/**
 * Shared types of the SAE trainer. Model: W [dIn, nLatents] (one matrix, tied):
 *   pre = ReLU(x·W), z = TopK_k(pre) (per token, zero outside the k largest), x̂ = z·Wᵀ.
 * Loss = MSE(x̂, x) + l1·mean|z| + decor·Σ_{i≠j} Cov(z)_ij²   (MSE and mean|z| average over all elements).
 *
 * Top-k rule, the same in every engine: with r = ReLU(x·W) for one token and kth its k-th largest
 * value (TopK values, position k − 1, counting equal values separately), z_j = r_j where r_j ≥ kth,
 * else 0. Values tied with kth are all kept, so a token can have more than k non-zero latents (only
 * on exact float ties); with fewer than k positive values, kth is 0 and every positive value is kept.
 * The gradient treats the mask as constant and flows where z_j ≠ 0 (the top-k mask and the ReLU gate).
 */
/** What an engine needs: the shape, the loss weights and Adam's (src/core/sae/config.ts describes each). */
export type SaeHyper = SaeShape &
  Pick<SaeConfig, 'l1' | 'decor' | 'lr'> & {
    beta1: number;
    beta2: number;
    eps: number;
  };

/** Loss terms of one step, measured on the forward pass before the update. */
export interface StepResult {
  loss: number;
  mse: number;
  l1: number; // mean|z| (unweighted)
  decor: number; // Σ_{i≠j} Cov(z)_ij² (unweighted); 0 when hyper.decor = 0 (not computed: it costs nL² work)
  sse: number; // Σ‖x − x̂‖² over the batch
  l0: number; // mean number of non-zero latents per token
  fired: Uint8Array; // [nLatents] 1 where the latent is non-zero on some token of the batch
}

/** Sparse codes of a token batch: CSR, rows = tokens. */
export interface SparseCodes {
  rowPtr: Int32Array; // [n + 1]
  index: Int32Array; // [nnz] latent ids, by descending value within a row
  value: Float32Array; // [nnz]
}

export type EngineKind = 'ort' | 'tfjs';

/** One training backend. Parameters and Adam moments live inside it between steps. */
export interface TrainEngine {
  readonly kind: EngineKind;
  /** What ran, e.g. "cpu (2 threads)", "cuda:0", "tfjs-node-gpu", "tfjs (cpu backend)". */
  readonly device: string;
  /** One Adam step on x [n, dIn]. */
  step(x: Float32Array, n: number): Promise<StepResult>;
  /** Current W [dIn, nLatents], row-major. */
  weights(): Promise<Float32Array>;
  /** Forward pass only: top-k codes and Σ‖x − x̂‖² for x [n, dIn]. */
  encode(x: Float32Array, n: number): Promise<{ codes: SparseCodes; sse: number }>;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  hyper: SaeHyper;
  /** Initial W [dIn, nLatents]. */
  w0: Float32Array;
  /** Intra-op threads (CPU); undefined: onnxruntime's choice (one per physical core). */
  threads?: number;
}
