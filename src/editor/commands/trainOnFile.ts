/**
 * "Latent Lens: Train SAE on this file" and "Apply an SAE to this file": check the text and the
 * settings, start the job in the worker (cancelling a run already going on for the document), show
 * progress in a cancellable notification and the status bar, then cache and show the result. The notification ends the
 * moment the run ends, however it ends; a failure is reported after it, with the choices that fix it.
 */
import * as vscode from 'vscode';
import { currentSettings, restrictedNotice, settingsBase } from '../settings/workspaceSettings';
import { background, CANCELLED_MESSAGE, reportError } from '../errors/report';
import { checkText } from '../../shared/inputCheck';
import type { ProgressEvent, RunView, TrainJob } from '../../shared/protocol';
import { jobSettings } from '../settings/jobSettings';
import type { Settings } from '../settings/schema';
import { docName, type Lens } from '../lens';
import { progressLine, progressPercent } from '../status/progressText';
import { JobFailure, type StartedJob } from '../worker/client';
import { modelFolderProblem, offerModelChoices } from './modelChoices';

/** The editor to run on: the one showing `uri` (context menu), else the active one. */
function targetEditor(uri: unknown): vscode.TextEditor | undefined {
  if (uri instanceof vscode.Uri) {
    const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    if (shown) return shown;
  }
  return vscode.window.activeTextEditor;
}

type Outcome = { view: RunView } | { error: unknown } | { cancelled: true };

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
  const job = { ...jobSettings(settings, settingsBase()), standIn: lens.standIn };
  const folderProblem = job.modelDir === undefined ? undefined : modelFolderProblem(job.modelDir);
  const again = () => runOnFile(lens, doc.uri, command, choose);
  if (folderProblem) return offerModelChoices(lens, again, folderProblem);
  const run = await choose(settings, selected ? `the selection only (${name})` : name);
  if (!run) return;

  const fullText = doc.getText();
  const version = doc.version;
  let report: ((message: string, percent: number) => void) | undefined;
  // The document's evidence and stability describe the run about to be replaced.
  await lens.stopWork(uri);
  const running = lens.runStarted(uri);
  const t0 = Date.now();
  let logged = '';
  let started: StartedJob;
  try {
    started = await run.start(uri, { text, source: uri, label, offset, out: lens.cache.newRunDir(uri), settings: job }, (p) => {
      const line = progressLine(p);
      // The log gets each phase's first line, and its first line with a count.
      const key = `${p.phase}:${p.total !== undefined}`;
      if (key !== logged && !(p.total === undefined && logged.startsWith(`${p.phase}:`))) {
        logged = key;
        lens.log.info(`job ${p.jobId}: ${p.phase} after ${Date.now() - t0} ms (${line})`);
      }
      lens.runProgress(uri, running, line);
      report?.(line, progressPercent(p));
    });
  } catch (e) {
    lens.runEnded(uri, running);
    throw e;
  }
  const { jobId, done } = started;
  done.catch(() => undefined); // handled below; never an unhandled rejection meanwhile
  if (started.replaced) background(lens.log, vscode.window.showInformationMessage(`Latent Lens: cancelled the run already going on ${name} to start this one.`));
  lens.log.info(`job ${jobId}: ${selected ? `selection of ${name} (offset ${offset})` : name}, ${text.length} characters`);

  const outcome = await vscode.window.withProgress<Outcome>({ location: vscode.ProgressLocation.Notification, title: `Latent Lens: ${run.doing}`, cancellable: true }, async (progress, token) => {
    let shown = 0;
    report = (message, percent) => {
      progress.report({ message, increment: Math.max(0, percent - shown) });
      shown = Math.max(shown, percent);
    };
    let onCancel: vscode.Disposable | undefined;
    const cancelled = new Promise<Outcome>((resolve) => {
      onCancel = token.onCancellationRequested(() => {
        background(lens.log, lens.client.cancel(jobId));
        resolve({ cancelled: true });
      });
    });
    try {
      return await Promise.race([done.then((view): Outcome => ({ view }), (error: unknown): Outcome => ({ error })), cancelled]);
    } finally {
      onCancel?.dispose();
      report = undefined;
    }
  });

  // The notification is gone: what follows may wait for the user.
  if ('view' in outcome && !running.closed) {
    lens.log.info(`job ${jobId} done after ${Date.now() - t0} ms: ${outcome.view.runDir}`);
    try {
      lens.cache.save(uri, version, fullText, outcome.view.runDir);
    } catch (e) {
      lens.log.warn(`could not remember the run for ${name} (it will not come back after a reload): ${(e as Error).message}`);
    }
    lens.setRun(uri, outcome.view, running, fullText);
    return;
  }
  lens.runEnded(uri, running);
  if (running.closed) return;
  if ('cancelled' in outcome) {
    lens.log.info(`job ${jobId} cancelled`);
    vscode.window.setStatusBarMessage(CANCELLED_MESSAGE, 4000);
    return;
  }
  if (!('error' in outcome)) return;
  const e = outcome.error;
  if (e instanceof JobFailure && e.code === 'E_OFFLINE') {
    lens.log.warn(e.message);
    return offerModelChoices(lens, again);
  }
  await reportError(e, lens.log);
}

export function trainOnFile(lens: Lens, uriArg?: unknown): Promise<void> {
  return runOnFile(lens, uriArg, 'Train SAE on this file', async (_settings, what) => ({ doing: `training on ${what}`, start: (key, job, p) => lens.client.train(key, job, p) }));
}
