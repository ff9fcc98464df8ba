/** "Latent Lens: Apply an SAE to this file": pick an SAE (a release and layer, a folder, an earlier run), then run it like training. */
import * as vscode from 'vscode';
import { RELEASES } from '../../core/sae/releases';
import type { SaeRequest } from '../../core/sae/source';
import { docName, type Lens } from '../lens';
import { defaultSaeSpec } from '../settings/jobSettings';
import { settingsBase } from '../settings/workspaceSettings';
import { releaseChoices, saeChoices } from './saeChoices';
import { runOnFile } from './trainOnFile';

async function pickSae(lens: Lens, defaultSpec: string): Promise<SaeRequest | undefined> {
  const runs = lens.cache.runs().map((r) => ({ ...r, name: docName(vscode.Uri.parse(r.uri)) }));
  const items = saeChoices(RELEASES, defaultSpec, runs).flatMap((c) => [
    ...(c.group ? [{ label: c.group, kind: vscode.QuickPickItemKind.Separator } as vscode.QuickPickItem & { choice?: undefined }] : []),
    { label: c.label, description: c.description, detail: c.detail, choice: c },
  ]);
  const picked = await vscode.window.showQuickPick(items, { title: 'Latent Lens: apply an SAE', placeHolder: 'An SAE of the field, a folder, or the SAE of an earlier run', matchOnDescription: true });
  const pick = picked?.choice?.pick;
  if (!pick) return undefined;
  if (pick.kind === 'request') return pick.request;
  if (pick.kind === 'release') {
    const layer = await vscode.window.showQuickPick(releaseChoices(pick.release), { title: `Latent Lens: ${pick.release.release}`, placeHolder: 'Which layer' });
    return layer?.request;
  }
  const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Apply this SAE', title: 'An SAE folder (cfg.json and its weights) or a run directory' });
  return folder?.[0] && { spec: folder[0].fsPath };
}

export function applySaeToFile(lens: Lens, uriArg?: unknown): Promise<void> {
  return runOnFile(lens, uriArg, 'Apply an SAE to this file', async (settings, what) => {
    const sae = await pickSae(lens, defaultSaeSpec(settings, settingsBase()));
    return sae && { doing: `applying ${sae.spec} to ${what}`, start: (key, job, p) => lens.client.apply(key, { ...job, sae }, p) };
  });
}
