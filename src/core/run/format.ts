import type { PresetName } from '../sae/config';
import type { SaeNormalization } from '../sae/model';
import type { ScheduleDone } from '../sae/schedule';

/**
 * The run directory: one SAE on one document or a corpus of files — trained here (`latent-lens train`) or applied
 * (`latent-lens apply`) — read by the analysis, the CLI and the editor.
 *   cfg.json            RunCfg (Latent Lens's own layout; `latent-lens export` writes SAELens's or sparsify's)
 *   sae.safetensors     the SAE by SAELens's tensor names: W_enc F32 [d_in, d_sae], b_enc F32 [d_sae],
 *                       W_dec F32 [d_sae, d_in], b_dec F32 [d_in], and threshold F32 [d_sae] for jumprelu
 *                       (a trained SAE is tied: W_dec = W_encᵀ, zero biases)
 *   latents.safetensors row_ptr I32 [T+1], index I32 [nnz], value F32 [nnz] (CSR, rows = tokens)
 *   metrics.json        RunMetrics
 *   tokens.json         RunTokens
 *   analysis.json       written by the analysis, versioned separately
 */
export const RUN_FORMAT_VERSION = 3;

/** The layouts an SAE folder can have. */
export type SaeFormat = 'saelens' | 'sparsify' | 'latent-lens';

/** Where a run's SAE came from. */
export type SaeSource =
  /** Trained by Latent Lens on this run's document. */
  | { kind: 'trained' }
  /** A release of the built-in registry (src/core/sae/releases.ts), by SAELens's release and SAE id. */
  | { kind: 'release'; release: string; id: string; repo: string; path: string }
  /** A folder of a Hugging Face repository (`--sae hf:REPO/PATH`). */
  | { kind: 'hub'; repo: string; path: string; format: SaeFormat }
  /** A local folder: SAELens's or sparsify's layout, or a Latent Lens run directory. */
  | { kind: 'folder'; path: string; format: SaeFormat };

export interface RunToken {
  id: number;
  text: string;
  /** [start, end) in UTF-16 code units of the source text. */
  start: number;
  end: number;
}

/** One file of a corpus run: its tokens are tokens[first, first + tokens) of the run, offsets within this file. */
export interface RunFile {
  /** Path relative to the corpus root (RunTokens.source), with / separators. */
  path: string;
  /** sha256 (hex) of the file's text (UTF-8) when its activations were extracted. */
  sha256: string;
  first: number;
  tokens: number;
}

/** A file of the corpus that was not trained on, and why. */
export interface SkippedFile {
  path: string;
  why: 'binary' | 'oversized' | 'empty' | 'unreadable' | 'changed' | 'vanished';
  /** The reason in words, e.g. "3.2 MB, over the 1 MB limit (--max-file-bytes)". */
  detail: string;
}

export interface RunTokens {
  version: number;
  /** Where the text came from (a file path, or a description such as "untitled:1 (selection)"); a corpus: its root folder. */
  source: string;
  /** Offset of the tokenized text inside the source (non-zero for a selection; 0 for a corpus). */
  offset: number;
  /** Token offsets are within the source's text, or within their file (`files`) for a corpus. */
  tokens: RunToken[];
  /** A corpus run: its files in token order (each token's file is the one whose range holds it). */
  files?: RunFile[];
  /** A corpus run: the files listed but not trained on. */
  skipped?: SkippedFile[];
}

/** cfg.json, one name per fact; src/core/run/runCfg.ts maps it to and from the SAE model and an SaeConfig. */
export interface RunCfg {
  version: number;
  /** The SAE, as src/core/sae/model.ts defines it (its tensors are in sae.safetensors). */
  sae: {
    activation: 'relu' | 'topk' | 'jumprelu';
    /** Latents kept per token (topk only). */
    k?: number;
    d_in: number;
    d_sae: number;
    apply_b_dec_to_input: boolean;
    normalize_activations: SaeNormalization['kind'];
    /** expected_average_only_in only: x is multiplied by it before encoding. */
    scaling_factor?: number;
    /** W_dec = W_encᵀ, zero biases (the SAE Latent Lens trains). */
    tied: boolean;
    /** The hook it reads, e.g. "blocks.6.hook_mlp_out". */
    hook_name: string;
    /** The model it was trained on, as the SAE names it. */
    model_name: string;
    /** Each context window starts with BOS, which is never shown or analysed. */
    prepend_bos: boolean;
    /** It reads TransformerLens's centred activations: each token minus its mean over d_model. */
    center_writing_weights: boolean;
    source: SaeSource;
  };
  /** The GPT-2 whose activations it encoded here. */
  model: {
    /** For people, e.g. "gpt2" or "random test model (seed 0) — RANDOM WEIGHTS". */
    name: string;
    /** Its directory (config.json + model.safetensors); absent for a run on saved activations. */
    dir?: string;
    /** True when the model is a generated random-weight test model: every display must say so. */
    random_weights: boolean;
  };
  /** How it was trained (the rest of its SaeConfig) and where; absent for an applied SAE. */
  train?: {
    preset: PresetName;
    l1: number;
    decor: number;
    lr: number;
    /** The schedule (sae/schedule.ts); null: no such limit. steps, tokens and early_stop are absent in runs written before they existed (null). */
    epochs: number | null;
    steps?: number | null;
    tokens?: number | null;
    early_stop?: { threshold: number; window: number } | null;
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
  /** Tokens trained on in this epoch, present only when a step or token budget ended it before its last minibatch. */
  tokens?: number;
}

/** What one encode pass of an SAE over every token of the document measures (sae/metrics.ts defines each). */
export interface SaeFit {
  mse: number;
  /** mean|z| over tokens and latents. */
  l1: number;
  fve: number;
  l0: number;
  dead_fraction: number;
  /** % of latents that fire on at least one token. */
  layer_density: number;
}

export interface RunMetrics {
  version: number;
  /** Per epoch of training; empty for an applied SAE. */
  curve: EpochMetrics[];
  /** Measured on one encode pass over all tokens with the final SAE. */
  final: SaeFit & {
    /** The training objective and its decorrelation term (trained runs only). */
    loss?: number;
    decor?: number;
  };
  /** Trained runs only. */
  ms_per_epoch?: number;
  /** Training (or, for an applied SAE, encoding) time in all. */
  total_ms: number;
  engine: string;
  device: string;
  /** How batches were formed, in words (e.g. "full batch of 220 tokens"); trained runs only. */
  batching?: string;
  /** What training did and why it stopped; trained runs only (absent in runs written before it existed). */
  schedule?: ScheduleDone;
}

/** The metrics of a trained run: every training field present. */
export type TrainedMetrics = RunMetrics & { final: { loss: number; decor: number }; ms_per_epoch: number; batching: string; schedule: ScheduleDone };
