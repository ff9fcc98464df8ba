/** cfg.json ↔ SaeConfig, in one place. */
import type { SaeConfig, SaeShape } from '../sae/config';
import { RUN_FORMAT_VERSION, type RunCfg } from './format';

/** What a run adds to its SaeConfig: the hook it resolved to, its sizes, the model, where it trained. */
export interface RunCfgFacts {
  hookName: string;
  shape: SaeShape;
  model: RunCfg['model'];
  engine: string;
  device: string;
  nTokens: number;
}

export function runCfg(sae: SaeConfig, f: RunCfgFacts): RunCfg {
  return {
    version: RUN_FORMAT_VERSION,
    sae: { architecture: 'topk', tied: true, d_in: f.shape.dIn, d_sae: f.shape.nLatents, k: f.shape.k, hook_name: f.hookName },
    model: f.model,
    train: { preset: sae.preset, l1: sae.l1, decor: sae.decor, lr: sae.lr, epochs: sae.epochs, seed: sae.seed, batch_tokens: sae.batchTokens, auxk: sae.auxk, engine: f.engine, device: f.device },
    n_tokens: f.nTokens,
  };
}

/** The SaeConfig that trains this run again: its resolved hook and sizes, its training fields. */
export function saeConfigOf(cfg: RunCfg): SaeConfig {
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
    seed: t.seed,
    batchTokens: t.batch_tokens,
    auxk: t.auxk ?? 0, // runs written before AuxK existed trained without it
  };
}
