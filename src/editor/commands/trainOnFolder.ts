/**
 * "Latent Lens: Train SAE on a folder…": the folder (the explorer's, else a quick pick of the
 * workspace folders — the first is the default — and "Choose a folder…"), its files by
 * latentLens.corpus.include / .exclude, files.exclude and .gitignore, one SAE trained on them in
 * the worker with progress over files and tokens and an ETA, cancellable; then a summary with the
 * skipped files in the log, and every open file of the corpus shows its tokens' latents.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { background, reportError } from '../errors/report';
import type { Lens } from '../lens';
import { corpusSummary, filesExcludeGlobs, skippedLines } from '../corpus/corpusText';
import { jobSettings } from '../settings/jobSettings';
import { currentSettings, restrictedNotice, settingsBase } from '../settings/workspaceSettings';
import { progressLine, progressPercent } from '../status/progressText';

const SHOW_SKIPPED = 'Show skipped files';

async function pickFolder(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  const folders = vscode.workspace.workspaceFolders ?? [];
  const choose = { label: '$(folder-opened) Choose a folder…', uri: undefined as vscode.Uri | undefined };
  const picked = folders.length
    ? await vscode.window.showQuickPick([...folders.map((f) => ({ label: `$(root-folder) ${f.name}`, description: f.uri.fsPath, uri: f.uri as vscode.Uri | undefined })), choose], {
        title: 'Latent Lens: Train SAE on a folder',
        placeHolder: 'The folder whose text files to train one SAE on',
      })
    : choose;
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Train SAE on this folder' });
  return chosen?.[0];
}

export async function trainOnFolder(lens: Lens, arg?: unknown): Promise<void> {
  const folder = await pickFolder(arg);
  if (!folder) return;
  if (folder.scheme !== 'file') throw new Error(`Latent Lens reads folders on disk; ${folder.toString()} is not one.`);
  const { settings, problems } = currentSettings();
  if (problems.length) background(lens.log, vscode.window.showWarningMessage(`Latent Lens: ${problems.join(' ')}`));
  const notice = restrictedNotice();
  if (notice) background(lens.log, vscode.window.showInformationMessage(notice));
  const name = path.basename(folder.fsPath);
  const exclude = [settings['corpus.exclude'], ...filesExcludeGlobs(vscode.workspace.getConfiguration('files', folder).get('exclude'))].filter((g) => g !== '');
  const key = folder.toString();
  let report: ((message: string, percent: number) => void) | undefined;
  const started = await lens.client.trainCorpus(
    key,
    {
      inputs: [folder.fsPath],
      include: settings['corpus.include'] ? [settings['corpus.include']] : [],
      exclude,
      globNames: { include: 'latentLens.corpus.include', exclude: 'latentLens.corpus.exclude or files.exclude' },
      limits: { maxTokens: { value: settings['corpus.maxTokens'], setting: 'latentLens.corpus.maxTokens' }, maxFileBytes: { value: settings['corpus.maxFileBytes'], setting: 'latentLens.corpus.maxFileBytes' } },
      label: `the folder ${name}`,
      out: lens.corpora.newRunDir(key),
      settings: jobSettings(settings, settingsBase(), 'corpus'),
    },
    (p) => report?.(progressLine(p), progressPercent(p)),
  );
  const { jobId, done } = started;
  done.catch(() => undefined); // handled below, inside withProgress
  if (started.replaced) background(lens.log, vscode.window.showInformationMessage(`Latent Lens: cancelled the run already going on ${name} to start this one.`));
  lens.log.info(`job ${jobId}: corpus ${folder.fsPath} (include ${settings['corpus.include'] || 'all'}, exclude ${exclude.join(' ') || 'none'})`);

  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Latent Lens: training on the folder ${name}`, cancellable: true }, async (progress, token) => {
    let shown = 0;
    report = (message, percent) => {
      progress.report({ message, increment: Math.max(0, percent - shown) });
      shown = Math.max(shown, percent);
    };
    const onCancel = token.onCancellationRequested(() => background(lens.log, lens.client.cancel(jobId)));
    try {
      const view = await done;
      lens.corpora.save(key, view.runDir);
      lens.log.info(`job ${jobId} done: ${view.runDir}, ${view.tokens.files?.length ?? 0} files`);
      const skipped = skippedLines(view);
      for (const line of skipped) lens.log.info(line);
      lens.showCorpusRun();
      background(
        lens.log,
        Promise.resolve(vscode.window.showInformationMessage(corpusSummary(view, name), ...(skipped.length ? [SHOW_SKIPPED] : []))).then((choice) => choice === SHOW_SKIPPED && lens.log.show()),
      );
    } catch (e) {
      await reportError(e, lens.log);
    } finally {
      onCancel.dispose();
      report = undefined;
    }
  });
}
