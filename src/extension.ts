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
  const channel = vscode.window.createOutputChannel('Latent Lens', { log: true });
  const log = unlessClosed(channel);
  client = new WorkerClient({
    workerPath: context.asAbsolutePath(path.join('dist', 'worker.js')),
    idleTimeoutMs: () => currentSettings().settings['worker.idleTimeoutSeconds'] * 1000,
    log,
  });
  const storage = (context.storageUri ?? context.globalStorageUri).fsPath;
  const lens = new Lens(client, new RunCache(path.join(storage, 'runs')), new CorpusRuns(path.join(storage, 'corpus-runs')), log);
  context.subscriptions.push(channel, lens, registerHover(lens), ...registerCommands(lens));
  context.subscriptions.push(registerLatentBrowser(context, lens));
  // test/e2e/harness.ts waits for this line: the commands, hover and browser are registered.
  log.info(`${ACTIVATED} (${context.extension.packageJSON.version})`);
}

/** The line the extension logs once it is active. */
export const ACTIVATED = 'Latent Lens activated';

/**
 * The channel, with every write dropped once the window goes away (reload, shutdown): the channel
 * then throws "Channel has been closed", while process events (a worker's exit) and commands still
 * waiting on a message the window took with it go on logging. Dropped, the throw neither escapes as
 * an uncaught error nor cuts short what was logging.
 */
function unlessClosed(channel: vscode.LogOutputChannel): vscode.LogOutputChannel {
  const writes = new Set<PropertyKey>(['trace', 'debug', 'info', 'warn', 'error', 'append', 'appendLine', 'replace', 'show']);
  return new Proxy(channel, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (!writes.has(key) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch {
          // nowhere left to log to
        }
      };
    },
  });
}

/** Cancels running jobs quietly and stops the worker (window reload, shutdown, disable). */
export async function deactivate(): Promise<void> {
  await client?.dispose();
  client = undefined;
}
