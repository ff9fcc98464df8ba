import type { SaeConfig, SaeShape } from './config';

/**
 * Shared types of the SAE trainer. Model: W [dIn, nLatents] (one matrix, tied):
 *   pre = ReLU(x·W), z = TopK_k(pre) (per token, zero outside the k largest), x̂ = z·Wᵀ.
 * Loss = MSE(x̂, x) + l1·mean|z| + decor·Σ_{i≠j} Cov(z)_ij² [+ auxk·AuxK, below]   (MSE and mean|z| average over all elements).
 *
 * Top-k rule, the same in every engine: with r = ReLU(x·W) for one token and kth its k-th largest
 * value (TopK values, position k − 1, counting equal values separately), z_j = r_j where r_j ≥ kth,
 * else 0. Values tied with kth are all kept, so a token can have more than k non-zero latents (only
 * on exact float ties); with fewer than k positive values, kth is 0 and every positive value is kept.
 * The gradient treats the mask as constant and flows where z_j ≠ 0 (the top-k mask and the ReLU gate).
 *
 * AuxK (Gao et al. 2024, "Scaling and evaluating sparse autoencoders", appendix A.2; as sparsify's
 * SparseCoder.forward and trainer), when α = auxk > 0, adds α·AuxK to the loss:
 * - Dead latents: latent j is dead at a step when it was zero (z_j = 0) on every one of the last
 *   `deadTokens` tokens trained on before the step (a counter of tokens since it last fired, reset
 *   to 0 by a step where it fires on any token and raised by the step's token count otherwise;
 *   sparsify's num_tokens_since_fired, dead when ≥ deadTokens). At the start nothing is dead.
 *   train.ts sets deadTokens to one epoch's tokens, the window of the per-epoch dead fraction.
 * - With D dead latents (D > 0), k' = min(kAux, D) (kAux default floor(dIn / 2), the paper's heuristic)
 *   and s = min(D / kAux, 1). Each token's auxiliary code a keeps, among the dead latents only, the
 *   values r_j ≥ the k'-th largest of r over the dead latents and > 0 — the top-k rule above,
 *   ties kept, on r masked to the dead latents.
 * - e = x − x̂ (the main residual, a constant for this term: no gradient flows into x̂ through it),
 *   ê = a·Wᵀ (the tied decoder), and AuxK = s · Σ_t ‖ê_t − e_t‖² / Σ_t ‖x_t − x̄‖², x̄ the batch's mean
 *   token (the batch's total variance, as sparsify normalises; 0 when it is 0).
 * - No dead latent (or α = 0): AuxK = 0 and nothing is computed. The gradient of α·AuxK reaches W
 *   through ê (decoder side) and through a (encoder side, where a_j ≠ 0), like the main terms.
 */
/** What an engine needs: the shape, the loss weights and Adam's (src/core/sae/config.ts describes each). */
export type SaeHyper = SaeShape &
  Pick<SaeConfig, 'l1' | 'decor' | 'lr'> & {
    beta1: number;
    beta2: number;
    eps: number;
    /** α, the weight of AuxK (default 0: off). */
    auxk?: number;
    /** Latents per token in the AuxK code (default floor(dIn / 2)). */
    kAux?: number;
    /** A latent is dead after this many tokens without firing (default 1e6; train.ts passes one epoch's tokens). */
    deadTokens?: number;
  };

/** The AuxK settings of `h` with their defaults filled in. */
export function auxkOf(h: SaeHyper): { coef: number; kAux: number; deadTokens: number } {
  return { coef: h.auxk ?? 0, kAux: h.kAux ?? Math.max(1, Math.floor(h.dIn / 2)), deadTokens: h.deadTokens ?? 1e6 };
}

/** Loss terms of one step, measured on the forward pass before the update. */
export interface StepResult {
  loss: number;
  mse: number;
  l1: number; // mean|z| (unweighted)
  // loss = mse + λ1·l1 + λc·decor + α·auxk
  decor: number; // Σ_{i≠j} Cov(z)_ij² (unweighted); 0 when hyper.decor = 0 (not computed: it costs nL² work)
  auxk: number; // AuxK (unweighted); 0 when AuxK is off or no latent is dead
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
  /**
   * Threads on the CPU; undefined: automatic — the kernels and onnxruntime's product one per CPU
   * (os.availableParallelism), the train graph onnxruntime's choice (one per physical core).
   */
  threads?: number;
}
