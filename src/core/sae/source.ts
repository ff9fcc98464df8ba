/**
 * Where an SAE comes from (`--sae` of `latent-lens apply`):
 * - a local folder: SAELens's layout, sparsify's, or a Latent Lens run directory;
 * - `hf:OWNER/NAME[/PATH]`: the folder PATH of a Hugging Face repository, downloaded into
 *   `<cache root>/saes/<OWNER>--<NAME>/<PATH>/` (cfg.json first, which tells SAELens's layout from
 *   sparsify's, then that layout's weights) with the model download's machinery;
 * - `RELEASE/ID` or `RELEASE` with a layer: an SAE of the registry (releases.ts), downloaded the same way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { cacheRoot, downloadRepoFiles, REPO_ID, type DownloadHelp, type ResolveOptions } from '../model/download';
import type { SaeFormat, SaeSource } from '../run/format';
import { readCfgJson, type LoadedSae } from './formats/files';
import { SAELENS_FILES } from './formats/saelens';
import { SPARSIFY_FILES } from './formats/sparsify';
import { formatOfCfg, loadSaeFolder } from './load';
import { findRelease, releaseOfRepo, releaseSae, RELEASES, type SaeRelease } from './releases';

export interface SaeRequest {
  /** A folder, hf:OWNER/NAME[/PATH], RELEASE/ID or RELEASE. */
  spec: string;
  /** The layer of a release given without an SAE id. */
  layer?: number;
  /** The hook of a sparsify SAE that does not record it. */
  hook?: string;
}

export interface ResolvedSae extends LoadedSae {
  source: SaeSource;
  /** The local folder it was read from. */
  dir: string;
  format: SaeFormat;
}

/** The directory a repository folder is downloaded into. */
export function saeCacheDir(repo: string, folder: string, cacheDir?: string): string {
  return path.join(cacheRoot(cacheDir), 'saes', repo.replace(/\//g, '--'), ...folder.split('/').filter(Boolean));
}

const SAFE_PATH = /^(?:[\w.-]+\/)*[\w.-]+$/;

function parseHub(spec: string): { repo: string; folder: string } {
  const rest = spec.slice('hf:'.length).replace(/\/+$/, '');
  const parts = rest.split('/');
  const repo = parts.slice(0, 2).join('/');
  const folder = parts.slice(2).join('/');
  if (!REPO_ID.test(repo) || (folder !== '' && (!SAFE_PATH.test(folder) || parts.slice(2).some((p) => p === '..' || p === '.')))) {
    throw new UserError(`--sae ${spec} is not of the form hf:OWNER/NAME or hf:OWNER/NAME/PATH (e.g. hf:jbloom/GPT2-Small-SAEs-Reformatted/blocks.6.hook_resid_pre).`, 'E_USAGE');
  }
  return { repo, folder };
}

const hubHelp = (spec: string): DownloadHelp => ({
  code: 'E_SAE',
  notFound: ` Check the repository and folder of --sae ${spec}, or pass --sae DIR with a local SAE folder.`,
  alternatives: 'or download the folder yourself and pass it with --sae DIR.',
});

/** Downloads cfg.json of `folder`, then the weights its layout names; returns the local folder and the layout. */
async function fetchFolder(repo: string, folder: string, spec: string, opts: ResolveOptions, weights?: string[]): Promise<{ dir: string; format: SaeFormat }> {
  const dir = saeCacheDir(repo, folder, opts.cacheDir);
  const at = (f: string) => (folder ? `${folder}/${f}` : f);
  await downloadRepoFiles({ repo, dir: saeCacheDir(repo, '', opts.cacheDir), files: [at(SAELENS_FILES.cfg)] }, opts, hubHelp(spec));
  const format = formatOfCfg(readCfgJson(dir));
  if (format === 'latent-lens') throw new UserError(`${repo}/${folder} holds a Latent Lens run directory; download it and pass --sae DIR, or export it first (latent-lens export).`, 'E_SAE');
  const files = weights ?? [format === 'saelens' ? SAELENS_FILES.weights : SPARSIFY_FILES.weights];
  await downloadRepoFiles({ repo, dir: saeCacheDir(repo, '', opts.cacheDir), files: files.map(at) }, opts, hubHelp(spec));
  return { dir, format };
}

/** Notes where a release's cfg.json disagrees with the registry (cfg.json wins). */
function releaseMismatches(r: SaeRelease, id: string, loaded: LoadedSae): string[] {
  const m = loaded.model;
  const k = m.activation.kind === 'topk' ? m.activation.k : undefined;
  const facts: [string, unknown, unknown][] = [
    ['d_in', r.dIn, m.dIn],
    ['width', r.width, m.dSae],
    ['activation', r.activation, m.activation.kind],
    ['k', r.k, k],
    ['normalisation', r.normalization, m.normalization.kind],
    ['prepend_bos', r.prependBos, m.site.prependBos],
    ['hook', r.saes.find((s) => s.id === id)?.hookName, m.site.hookName],
  ];
  return facts.filter(([, want, got]) => want !== got).map(([what, want, got]) => `release ${r.release}/${id}: its cfg.json has ${what} ${String(got)} where the registry says ${String(want)}; using cfg.json.`);
}

function unknownSpec(spec: string): UserError {
  return new UserError(
    `--sae ${spec} is not a folder (${path.resolve(spec)} does not exist), not hf:OWNER/NAME/PATH, and not a release of the registry (${RELEASES.map((r) => r.release).join(', ')}).`,
    'E_SAE',
  );
}

/** Resolves `--sae` to a loaded SAE model, downloading it when needed. */
export async function resolveSae(req: SaeRequest, opts: ResolveOptions = {}): Promise<ResolvedSae> {
  const { spec } = req;
  if (fs.existsSync(spec)) {
    if (req.layer !== undefined) throw new UserError('--layer picks an SAE of a release; a folder holds one SAE.', 'E_USAGE');
    const dir = path.resolve(spec);
    const loaded = loadSaeFolder(dir, { hook: req.hook });
    return { ...loaded, dir, source: { kind: 'folder', path: dir, format: loaded.format } };
  }
  if (spec.startsWith('hf:')) {
    if (req.layer !== undefined) throw new UserError('--layer picks an SAE of a release; hf:OWNER/NAME/PATH names one folder.', 'E_USAGE');
    const { repo, folder } = parseHub(spec);
    const { dir } = await fetchFolder(repo, folder, spec, opts);
    const known = releaseOfRepo(repo);
    const loaded = loadSaeFolder(dir, { hook: req.hook, overrides: known ? { centred: known.centred } : undefined });
    return { ...loaded, dir, source: { kind: 'hub', repo, path: folder, format: loaded.format } };
  }
  const [name, ...idParts] = spec.split('/');
  const release = findRelease(name);
  if (!release) throw unknownSpec(spec);
  if (req.hook !== undefined) throw new UserError(`--hook does not apply to a release: release ${release.release} names each SAE's hook.`, 'E_USAGE');
  const id = idParts.join('/');
  if (id && req.layer !== undefined) throw new UserError(`give either ${release.release}/ID or --layer, not both.`, 'E_USAGE');
  const sae = releaseSae(release, id ? { id } : { layer: req.layer });
  const { dir } = await fetchFolder(release.repo, sae.path, spec, opts, release.files.filter((f) => f !== SAELENS_FILES.cfg));
  const loaded = loadSaeFolder(dir, { overrides: { centred: release.centred } });
  return {
    ...loaded,
    notes: [...loaded.notes, ...releaseMismatches(release, sae.id, loaded)],
    dir,
    source: { kind: 'release', release: release.release, id: sae.id, repo: release.repo, path: sae.path },
  };
}
