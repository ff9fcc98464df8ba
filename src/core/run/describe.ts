/** A run's SAE in words, for the CLI summary, the status bar and the latent browser. */
import { scheduleText } from '../sae/schedule';
import type { RunCfg, SaeSource } from './format';

/** What kind of SAE, e.g. "top-k 384 of 6144 latents", "ReLU, 24576 latents", "JumpReLU, 16384 latents". */
export function saeKindText(sae: RunCfg['sae']): string {
  if (sae.activation === 'topk') return `top-k ${sae.k} of ${sae.d_sae} latents`;
  return `${sae.activation === 'relu' ? 'ReLU' : 'JumpReLU'}, ${sae.d_sae} latents`;
}

/** Where an SAE came from, e.g. "release gpt2-small-res-jb, SAE blocks.6.hook_resid_pre (jbloom/GPT2-Small-SAEs-Reformatted)". */
export function saeSourceText(source: SaeSource): string {
  switch (source.kind) {
    case 'trained':
      return 'trained here on this text';
    case 'release':
      return `release ${source.release}, SAE ${source.id} (${source.repo})`;
    case 'hub':
      return `hf:${source.repo}/${source.path} (${source.format} layout)`;
    case 'folder':
      return source.format === 'latent-lens' ? `the SAE of run ${source.path}` : `${source.path} (${source.format} layout)`;
  }
}

/** One line on how the run's SAE came to be: its training recipe, or where it was applied from. */
export function saeOriginText(cfg: RunCfg): string {
  const t = cfg.train;
  if (!t) return `applied: ${saeSourceText(cfg.sae.source)}`;
  // Runs written before budgets and early stopping existed trained for `epochs` exactly.
  const length = t.steps || t.tokens || t.early_stop ? scheduleText({ epochs: t.epochs, steps: t.steps ?? null, tokens: t.tokens ?? null, earlyStop: t.early_stop ?? null }) : `${t.epochs} epochs`;
  return `${t.preset} preset · ${length}`;
}
