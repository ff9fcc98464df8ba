import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { currentSettings } from './config';
import { registerHover } from './hover';
import { Lens } from './lens';
import { RunCache } from './runCache';
import { WorkerClient } from './workerClient';

let client: WorkerClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Latent Lens', { log: true });
  client = new WorkerClient({
    workerPath: context.asAbsolutePath(path.join('dist', 'worker.js')),
    idleTimeoutMs: () => currentSettings().settings['worker.idleTimeoutSeconds'] * 1000,
    log,
  });
  const storage = (context.storageUri ?? context.globalStorageUri).fsPath;
  const lens = new Lens(client, new RunCache(path.join(storage, 'runs')), log);
  context.subscriptions.push(log, lens, registerHover(lens), ...registerCommands(lens));
}

/** Cancels running jobs quietly and stops the worker (window reload, shutdown, disable). */
export async function deactivate(): Promise<void> {
  await client?.dispose();
  client = undefined;
}
