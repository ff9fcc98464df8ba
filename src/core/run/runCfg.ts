/** cfg.json ↔ the SAE model and the SaeConfig, in one place. */
import type { SaeConfig } from '../sae/config';
import type { SaeActivation, SaeModel, SaeNormalization } from '../sae/model';
import { RUN_FORMAT_VERSION, type RunCfg, type SaeSource } from './format';

/** What any run records besides its SAE: the model it ran on here and the document's length. */
export interface RunFacts {
  model: RunCfg['model'];
  nTokens: number;
}

/** What a training run adds: where it trained. */
export interface TrainFacts extends RunFacts {
  engine: string;
  device: string;
}

/** A run whose SAE was trained here (cfg.json has a train section). */
export type TrainedCfg = RunCfg & { train: NonNullable<RunCfg['train']> };

/** cfg.json's sae section of a model (its tensors go to sae.safetensors). */
export function saeCfg(m: SaeModel, source: SaeSource): RunCfg['sae'] {
  const a = m.activation;
  const n = m.normalization;
  return {
    activation: a.kind,
    ...(a.kind === 'topk' ? { k: a.k } : {}),
    d_in: m.dIn,
    d_sae: m.dSae,
    apply_b_dec_to_input: m.applyBDecToInput,
    normalize_activations: n.kind,
    ...(n.kind === 'expected_average_only_in' ? { scaling_factor: n.scalingFactor } : {}),
    tied: m.tied,
    hook_name: m.site.hookName,
    model_name: m.site.modelName,
    prepend_bos: m.site.prependBos,
    center_writing_weights: m.site.centred,
    source,
  };
}

/** The tensors of sae.safetensors, by SAELens's names (threshold only for jumprelu). */
export interface SaeWeights {
  W_enc: Float32Array;
  b_enc: Float32Array;
  W_dec: Float32Array;
  b_dec: Float32Array;
  threshold?: Float32Array;
}

/** The model of cfg.json's sae section and sae.safetensors' tensors (already checked against its sizes). */
export function saeModelOf(c: RunCfg['sae'], w: SaeWeights): SaeModel {
  const activation: SaeActivation =
    c.activation === 'topk' ? { kind: 'topk', k: c.k! } : c.activation === 'jumprelu' ? { kind: 'jumprelu', threshold: w.threshold! } : { kind: 'relu' };
  const normalization: SaeNormalization =
    c.normalize_activations === 'expected_average_only_in' ? { kind: 'expected_average_only_in', scalingFactor: c.scaling_factor! } : { kind: c.normalize_activations };
  return {
    dIn: c.d_in,
    dSae: c.d_sae,
    wEnc: w.W_enc,
    bEnc: w.b_enc,
    wDec: w.W_dec,
    bDec: w.b_dec,
    activation,
    applyBDecToInput: c.apply_b_dec_to_input,
    normalization,
    tied: c.tied,
    site: { hookName: c.hook_name, modelName: c.model_name, prependBos: c.prepend_bos, centred: c.center_writing_weights },
  };
}

/** cfg.json of a run that trained `m` (a tiedSae) with `sae`. */
export function runCfg(sae: SaeConfig, m: SaeModel, f: TrainFacts): TrainedCfg {
  return {
    version: RUN_FORMAT_VERSION,
    sae: saeCfg(m, { kind: 'trained' }),
    model: f.model,
    train: {
      preset: sae.preset,
      l1: sae.l1,
      decor: sae.decor,
      lr: sae.lr,
      epochs: sae.epochs,
      steps: sae.steps,
      tokens: sae.tokens,
      early_stop: sae.earlyStop,
      seed: sae.seed,
      batch_tokens: sae.batchTokens,
      auxk: sae.auxk,
      engine: f.engine,
      device: f.device,
    },
    n_tokens: f.nTokens,
  };
}

/** cfg.json of a run that applied `m`, from `source`, without training. */
export function appliedCfg(m: SaeModel, source: SaeSource, f: RunFacts): RunCfg {
  return { version: RUN_FORMAT_VERSION, sae: saeCfg(m, source), model: f.model, n_tokens: f.nTokens };
}

/** The SaeConfig that trains this run again: its resolved hook and sizes, its training fields. */
export function saeConfigOf(cfg: TrainedCfg): SaeConfig {
  const t = cfg.train;
  return {
    preset: t.preset,
    hook: cfg.sae.hook_name,
    layer: null,
    latents: String(cfg.sae.d_sae),
    k: String(cfg.sae.k),
    l1: t.l1,
    decor: t.decor,
    lr: t.lr,
    epochs: t.epochs,
    // Runs written before budgets and early stopping existed trained for `epochs` exactly.
    steps: t.steps ?? null,
    tokens: t.tokens ?? null,
    earlyStop: t.early_stop ?? null,
    seed: t.seed,
    batchTokens: t.batch_tokens,
    auxk: t.auxk ?? 0, // runs written before AuxK existed trained without it
  };
}
