import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommands } from './editor/commands/commands';
import { currentSettings } from './editor/settings/workspaceSettings';
import { registerHover } from './editor/hover/provider';
import { registerLatentBrowser } from './editor/browser/view';
import { Lens } from './editor/lens';
import { RunCache } from './editor/runCache';
import { CorpusRuns } from './editor/corpus/corpusRuns';
import { WorkerClient } from './editor/worker/client';

let client: WorkerClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Latent Lens', { log: true });
  client = new WorkerClient({
    workerPath: context.asAbsolutePath(path.join('dist', 'worker.js')),
    idleTimeoutMs: () => currentSettings().settings['worker.idleTimeoutSeconds'] * 1000,
    log: { info: unlessClosed(log, log.info), warn: unlessClosed(log, log.warn), error: unlessClosed(log, log.error) },
  });
  const storage = (context.storageUri ?? context.globalStorageUri).fsPath;
  const lens = new Lens(client, new RunCache(path.join(storage, 'runs')), new CorpusRuns(path.join(storage, 'corpus-runs')), log);
  context.subscriptions.push(log, lens, registerHover(lens), ...registerCommands(lens));
  context.subscriptions.push(registerLatentBrowser(context, lens));
}

/**
 * The worker client logs from process events, which still fire while the window goes away (reload,
 * shutdown), when the channel throws "Channel has been closed": such a line is dropped, so that the
 * throw neither escapes as an uncaught error nor cuts short the worker's exit handling.
 */
function unlessClosed(log: vscode.LogOutputChannel, write: (message: string) => void): (message: string) => void {
  return (message) => {
    try {
      write.call(log, message);
    } catch {
      // nowhere left to log to
    }
  };
}

/** Cancels running jobs quietly and stops the worker (window reload, shutdown, disable). */
export async function deactivate(): Promise<void> {
  await client?.dispose();
  client = undefined;
}
