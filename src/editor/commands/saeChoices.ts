/** The choices of "Apply an SAE to this file", free of `vscode`: the default, the registry's releases, a folder, earlier runs. */
import { saeKindText, saeOriginText } from '../../core/run/describe';
import type { RunCfg } from '../../core/run/format';
import type { SaeRelease } from '../../core/sae/releases';
import type { SaeRequest } from '../../core/sae/source';

export type SaePick = { kind: 'request'; request: SaeRequest } | { kind: 'release'; release: SaeRelease } | { kind: 'folder' };

export interface SaeChoice {
  label: string;
  description?: string;
  detail?: string;
  /** Starts a group of choices under this heading. */
  group?: string;
  pick: SaePick;
}

export interface EarlierRun {
  /** The document's name, for people. */
  name: string;
  runDir: string;
  cfg: RunCfg;
}

/** The first step: the default SAE (setting latentLens.sae.default), each release, "an SAE folder…", earlier runs. */
export function saeChoices(releases: readonly SaeRelease[], defaultSpec: string, runs: readonly EarlierRun[]): SaeChoice[] {
  const choices: SaeChoice[] = [];
  if (defaultSpec) choices.push({ label: `$(star-full) ${defaultSpec}`, description: 'latentLens.sae.default', pick: { kind: 'request', request: { spec: defaultSpec } } });
  releases.forEach((r, i) =>
    choices.push({
      label: r.release,
      description: r.title,
      detail: `${r.repo} · ${r.saes.length} SAEs · ${r.width} latents · ~${r.megabytes} MB each, downloaded once`,
      group: i === 0 ? 'GPT-2 Small SAEs of the field' : undefined,
      pick: { kind: 'release', release: r },
    }),
  );
  choices.push({ label: '$(folder-opened) An SAE folder…', description: "SAELens's or sparsify's layout, or a run directory", group: 'Other', pick: { kind: 'folder' } });
  runs.forEach((run, i) =>
    choices.push({
      label: `$(history) ${run.name}`,
      description: `${saeKindText(run.cfg.sae)} on ${run.cfg.sae.hook_name}`,
      detail: saeOriginText(run.cfg),
      group: i === 0 ? 'The SAE of an earlier run' : undefined,
      pick: { kind: 'request', request: { spec: run.runDir } },
    }),
  );
  return choices;
}

/** The second step for a release: its SAEs by layer. */
export function releaseChoices(r: SaeRelease): { label: string; description: string; request: SaeRequest }[] {
  return r.saes.map((s) => ({ label: `layer ${s.layer}`, description: s.hookName, request: { spec: `${r.release}/${s.id}` } }));
}
