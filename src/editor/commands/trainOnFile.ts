/**
 * "Latent Lens: Train SAE on this file" and "Apply an SAE to this file": check the text and the
 * settings, start the job in the worker (cancelling a run already going on for the document), show
 * progress in a cancellable notification and the status bar, then cache and show the result.
 */
import * as vscode from 'vscode';
import { currentSettings, restrictedNotice, settingsBase } from '../settings/workspaceSettings';
import { background, reportError } from '../errors/report';
import { checkText } from '../../shared/inputCheck';
import type { ProgressEvent, TrainJob } from '../../shared/protocol';
import { jobSettings } from '../settings/jobSettings';
import type { Settings } from '../settings/schema';
import type { StartedJob } from '../worker/client';
import { docName, type Lens } from '../lens';
import { progressLine, progressPercent } from '../status/progressText';

/** The editor to run on: the one showing `uri` (context menu), else the active one. */
function targetEditor(uri: unknown): vscode.TextEditor | undefined {
  if (uri instanceof vscode.Uri) {
    const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    if (shown) return shown;
  }
  return vscode.window.activeTextEditor;
}

/** What a command runs on the document, chosen once the text and settings are checked. */
export interface FileRun {
  /** The notification's title, e.g. "training on notes.md". */
  doing: string;
  start(key: string, job: Omit<TrainJob, 'jobId'>, onProgress: (p: ProgressEvent) => void): Promise<StartedJob>;
}

/**
 * Runs `choose`'s job on the target editor's text (or selection); `command` names the command in
 * messages. `choose` returning undefined (the user dismissed a picker) ends quietly.
 */
export async function runOnFile(lens: Lens, uriArg: unknown, command: string, choose: (settings: Settings, what: string) => Promise<FileRun | undefined>): Promise<void> {
  const editor = targetEditor(uriArg);
  if (!editor) {
    await vscode.window.showErrorMessage(`Latent Lens: open a text document (or select part of one) and run "${command}" again.`);
    return;
  }
  const doc = editor.document;
  const uri = doc.uri.toString();
  const name = docName(doc.uri);
  const selected = !editor.selection.isEmpty;
  const text = selected ? doc.getText(editor.selection) : doc.getText();
  const offset = selected ? doc.offsetAt(editor.selection.start) : 0;
  const label = selected ? `The selection in ${name}` : name;
  checkText(text, label);

  const { settings, problems } = currentSettings();
  if (problems.length) background(lens.log, vscode.window.showWarningMessage(`Latent Lens: ${problems.join(' ')}`));
  const notice = restrictedNotice();
  if (notice) background(lens.log, vscode.window.showInformationMessage(notice));
  const job = jobSettings(settings, settingsBase());
  const run = await choose(settings, selected ? `the selection only (${name})` : name);
  if (!run) return;

  const fullText = doc.getText();
  const version = doc.version;
  let report: ((message: string, percent: number) => void) | undefined;
  const running = lens.runStarted(uri);
  let started;
  try {
    started = await run.start(uri, { text, source: uri, label, offset, out: lens.cache.newRunDir(uri), settings: job }, (p) => {
      const line = progressLine(p);
      lens.runProgress(uri, running, line);
      report?.(p.phase === 'train' ? line : `${p.phase}: ${line}`, progressPercent(p));
    });
  } catch (e) {
    lens.runEnded(uri, running);
    throw e;
  }
  const { jobId, done } = started;
  done.catch(() => undefined); // handled below, inside withProgress; never an unhandled rejection meanwhile
  if (started.replaced) background(lens.log, vscode.window.showInformationMessage(`Latent Lens: cancelled the run already going on ${name} to start this one.`));
  lens.log.info(`job ${jobId}: ${selected ? `selection of ${name} (offset ${offset})` : name}, ${text.length} characters`);

  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Latent Lens: ${run.doing}`, cancellable: true }, async (progress, token) => {
    let shown = 0;
    report = (message, percent) => {
      progress.report({ message, increment: Math.max(0, percent - shown) });
      shown = Math.max(shown, percent);
    };
    const onCancel = token.onCancellationRequested(() => background(lens.log, lens.client.cancel(jobId)));
    try {
      const view = await done;
      if (running.closed) return lens.runEnded(uri, running);
      try {
        lens.cache.save(uri, version, fullText, view.runDir);
      } catch (e) {
        lens.log.warn(`could not remember the run for ${name} (it will not come back after a reload): ${(e as Error).message}`);
      }
      lens.setRun(uri, view, running);
      lens.log.info(`job ${jobId} done: ${view.runDir}`);
    } catch (e) {
      lens.runEnded(uri, running);
      if (!running.closed) await reportError(e, lens.log);
    } finally {
      onCancel.dispose();
      report = undefined;
    }
  });
}

export function trainOnFile(lens: Lens, uriArg?: unknown): Promise<void> {
  return runOnFile(lens, uriArg, 'Train SAE on this file', async (_settings, what) => ({ doing: `training on ${what}`, start: (key, job, p) => lens.client.train(key, job, p) }));
}
