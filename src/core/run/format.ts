/**
 * The run directory: what one training run leaves on disk, read by the analysis, the CLI and the editor.
 *   cfg.json            SaeCfg (sparsify/SAELens-style field names)
 *   sae.safetensors     W_enc F32 [d_in, num_latents], W_dec F32 [num_latents, d_in] (= W_encᵀ, tied),
 *                       b_enc F32 [num_latents], b_dec F32 [d_in] (zeros: the model has no biases; present so
 *                       SAELens-style loaders find every tensor they expect)
 *   latents.safetensors row_ptr I32 [T+1], index I32 [nnz], value F32 [nnz] (CSR, rows = tokens)
 *   metrics.json        RunMetrics
 *   tokens.json         RunTokens
 *   analysis.json       written by the analysis (issue 4), versioned separately
 */
export const RUN_FORMAT_VERSION = 1;

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

export interface SaeCfg {
  version: number;
  d_in: number;
  num_latents: number;
  k: number;
  hook_name: string;
  layer: number;
  model: string;
  /** Absolute path of the model directory that made the activations; absent for runs trained on saved activations. */
  model_dir?: string;
  /** True when the model is a generated random-weight test model: every display must say so. */
  random_weights: boolean;
  tied: true;
  preset: string;
  seed: number;
  lr: number;
  epochs: number;
  l1: number;
  decor: number;
  engine: string;
  device: string;
  n_tokens: number;
  /** The same facts under SAELens's names, for tools that load SAELens cfg.json files. */
  architecture: 'topk';
  d_sae: number;
  hook_layer: number;
  model_name: string;
  activation_fn_kwargs: { k: number };
  apply_b_dec_to_input: false;
  normalize_activations: 'none';
  dtype: 'float32';
}

export interface EpochMetrics {
  epoch: number; // 1-based
  loss: number;
  mse: number;
  l1: number;
  decor: number;
  fve: number;
  l0: number;
  dead_fraction: number;
  ms: number;
}

export interface RunMetrics {
  version: number;
  curve: EpochMetrics[];
  /** Measured on one encode pass over all tokens after training. */
  final: Omit<EpochMetrics, 'epoch' | 'ms'> & {
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
