/** Shows a failure to the user the one way it deserves; never throws, so no rejection escapes a command. */
import * as vscode from 'vscode';
import { isCancelled, isUserError } from '../../core/errors';
import { adviceFor } from './advice';
import { JobFailure, type FailureCode } from '../worker/client';

const SHOW_LOG = 'Show Log';
const OPEN_SETTINGS = 'Open Settings';
/** What a cancel says, once, in the status bar. */
export const CANCELLED_MESSAGE = 'Latent Lens: run cancelled.';

export async function reportError(e: unknown, log: vscode.LogOutputChannel): Promise<void> {
  try {
    if ((e instanceof JobFailure && e.kind === 'cancelled') || isCancelled(e)) {
      vscode.window.setStatusBarMessage(CANCELLED_MESSAGE, 4000);
      return;
    }
    const user = (e instanceof JobFailure && e.kind === 'user') || isUserError(e);
    if (user) {
      const err = e as Error & { code: FailureCode };
      const advice = adviceFor(err.code);
      log.warn(err.message);
      const message = `Latent Lens: ${err.message}${advice?.hint ? ` ${advice.hint}` : ''}`;
      const choice = await vscode.window.showErrorMessage(message, ...(advice ? [OPEN_SETTINGS] : []));
      if (choice === OPEN_SETTINGS) await vscode.commands.executeCommand('workbench.action.openSettings', advice!.settings);
      return;
    }
    const message = e instanceof JobFailure ? e.message : `Latent Lens: internal error: ${e instanceof Error ? e.message : String(e)}. Show Log has the details.`;
    log.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    const choice = await vscode.window.showErrorMessage(message.startsWith('Latent Lens') ? message : `Latent Lens: ${message}`, SHOW_LOG);
    if (choice === SHOW_LOG) log.show();
  } catch (inner) {
    log.error(`while reporting an error: ${String(inner)}`);
  }
}

/** Wraps a command handler so that whatever it throws is reported, not left as a rejection. */
export function guarded<A extends unknown[]>(log: vscode.LogOutputChannel, fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      await reportError(e, log);
    }
  };
}

/** Runs a promise (or Thenable) without awaiting it; a rejection is logged instead of escaping. */
export function background(log: vscode.LogOutputChannel, work: PromiseLike<unknown>): void {
  Promise.resolve(work).catch((e: unknown) => log.error(e instanceof Error ? (e.stack ?? e.message) : String(e)));
}
