/** An SAE folder of any layout Latent Lens reads, to the SAE model. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import type { SaeFormat } from '../run/format';
import { readRunSae, RUN_FILES } from '../run/runDir';
import { readCfgJson, type LoadedSae } from './formats/files';
import { readSaeLens, SAELENS_FILES, type SiteOverrides } from './formats/saelens';
import { readSparsify, SPARSIFY_FILES } from './formats/sparsify';

export interface FolderHints {
  /** The hook, for a sparsify folder that does not record it. */
  hook?: string;
  /** Facts a release supplies over cfg.json. */
  overrides?: SiteOverrides;
}

/** Which layout an SAE's cfg.json has: SAELens's names d_sae (and a hook), sparsify's does not. */
export function formatOfCfg(cfg: Record<string, unknown>): SaeFormat {
  if (typeof cfg.version === 'number' && typeof cfg.sae === 'object') return 'latent-lens';
  return 'd_sae' in cfg || 'architecture' in cfg || 'hook_point' in cfg || 'metadata' in cfg ? 'saelens' : 'sparsify';
}

/** The layout of a folder: a Latent Lens run directory, SAELens's (sae_weights.safetensors) or sparsify's (sae.safetensors). */
export function folderFormat(dir: string): SaeFormat {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir} is not a folder; an SAE is a folder holding cfg.json and its weights.`, 'E_SAE');
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  const cfg = readCfgJson(dir);
  if (formatOfCfg(cfg) === 'latent-lens') return 'latent-lens';
  if (has(SAELENS_FILES.weights)) return 'saelens';
  if (has(SPARSIFY_FILES.weights)) return 'sparsify';
  throw new UserError(
    `${dir} has a cfg.json but no weights file: SAELens's layout has ${SAELENS_FILES.weights}, sparsify's ${SPARSIFY_FILES.weights} (a Latent Lens run directory has ${RUN_FILES.sae} with ${RUN_FILES.latents} and ${RUN_FILES.tokens}).`,
    'E_SAE',
  );
}

/** Reads the SAE of a folder in any of the layouts. */
export function loadSaeFolder(dir: string, hints: FolderHints = {}): LoadedSae & { format: SaeFormat } {
  const format = folderFormat(dir);
  if (format === 'latent-lens') {
    const run = readRunSae(dir);
    if (hints.hook !== undefined) throw new UserError(`--hook does not apply to a Latent Lens run directory: its SAE reads ${run.cfg.sae.hook_name}.`, 'E_USAGE');
    return { model: run.sae, notes: [], format };
  }
  if (format === 'saelens') {
    if (hints.hook !== undefined) throw new UserError(`--hook does not apply to a SAELens folder: its cfg.json names the hook.`, 'E_USAGE');
    return { ...readSaeLens(dir, hints.overrides), format };
  }
  return { ...readSparsify(dir, hints.hook), format };
}
