import type { PresetName } from '../sae/config';

/**
 * The run directory: what one training run leaves on disk, read by the analysis, the CLI and the editor.
 *   cfg.json            RunCfg (Latent Lens's own layout; `latent-lens export` writes the field's)
 *   sae.safetensors     W_enc F32 [d_in, d_sae], W_dec F32 [d_sae, d_in] (= W_encᵀ, tied),
 *                       b_enc F32 [d_sae], b_dec F32 [d_in] (zeros: the model has no biases)
 *   latents.safetensors row_ptr I32 [T+1], index I32 [nnz], value F32 [nnz] (CSR, rows = tokens)
 *   metrics.json        RunMetrics
 *   tokens.json         RunTokens
 *   analysis.json       written by the analysis, versioned separately
 */
export const RUN_FORMAT_VERSION = 2;

export interface RunToken {
  id: number;
  text: string;
  /** [start, end) in UTF-16 code units of the source text. */
  start: number;
  end: number;
}

export interface RunTokens {
  version: number;
  /** Where the text came from (a file path, or a description such as "untitled:1 (selection)"). */
  source: string;
  /** Offset of the tokenized text inside the source (non-zero for a selection). */
  offset: number;
  tokens: RunToken[];
}

/** cfg.json, one name per fact; src/core/run/runCfg.ts maps it to and from an SaeConfig. */
export interface RunCfg {
  version: number;
  /** The SAE: z = TopK_k(ReLU(x·W_enc)) (ties kept), x̂ = z·W_dec with W_dec = W_encᵀ, no biases. */
  sae: {
    architecture: 'topk';
    tied: true;
    d_in: number;
    d_sae: number;
    k: number;
    /** The hook it reads, e.g. "blocks.6.hook_mlp_out". */
    hook_name: string;
  };
  /** The GPT-2 whose activations it was trained on. */
  model: {
    /** For people, e.g. "gpt2" or "random test model (seed 0) — RANDOM WEIGHTS". */
    name: string;
    /** Its directory (config.json + model.safetensors); absent for a run on saved activations. */
    dir?: string;
    /** True when the model is a generated random-weight test model: every display must say so. */
    random_weights: boolean;
  };
  /** How it was trained (the rest of its SaeConfig) and where. */
  train: {
    preset: PresetName;
    l1: number;
    decor: number;
    lr: number;
    epochs: number;
    seed: number;
    batch_tokens: number;
    /** α of the AuxK term (absent in runs written before it existed: 0). */
    auxk?: number;
    engine: string;
    device: string;
  };
  n_tokens: number;
}

export interface EpochMetrics {
  epoch: number; // 1-based
  loss: number;
  mse: number;
  l1: number;
  decor: number;
  /** AuxK (unweighted; 0 when off or nothing was dead); `loss` includes it with its weight. Absent in older runs. */
  auxk?: number;
  fve: number;
  l0: number;
  /** Share of latents that fired on no token of the epoch (the window AuxK's dead latents are counted over). */
  dead_fraction: number;
  ms: number;
}

export interface RunMetrics {
  version: number;
  curve: EpochMetrics[];
  /** Measured on one encode pass over all tokens after training. */
  final: Omit<EpochMetrics, 'epoch' | 'ms' | 'auxk'> & {
    /** % of latents that fire on at least one token. */
    layer_density: number;
  };
  ms_per_epoch: number;
  total_ms: number;
  engine: string;
  device: string;
  /** How batches were formed, in words (e.g. "full batch of 220 tokens" or "minibatches of 4096, shuffled, seed 0"). */
  batching: string;
}
