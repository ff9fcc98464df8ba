/**
 * When GPT-2 Small cannot be downloaded (no internet, the hub unreachable): a short message for
 * editor users and the three ways on — preview with the random-weights stand-in (the CLI's, labelled
 * as such everywhere), choose a folder holding GPT-2, or open the model settings. The full message,
 * with the cache folder and the files to place there, goes to the log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { MODEL_FILES } from '../../core/model/download';
import { background } from '../errors/report';
import type { Lens } from '../lens';
import { SECTION } from '../settings/schema';

export const OFFLINE_MESSAGE = 'Latent Lens: cannot download GPT-2 Small (Hugging Face is unreachable). Preview with a random-weights stand-in, or choose a GPT-2 folder.';
export const USE_STAND_IN = 'Use the random-weights stand-in';
export const CHOOSE_FOLDER = 'Choose a GPT-2 folder…';
const OPEN_SETTINGS = 'Open Settings';

/** What a folder lacks to be a GPT-2 model folder ([] when it has everything). */
export function missingModelFiles(dir: string): string[] {
  return MODEL_FILES.filter((f) => !fs.existsSync(path.join(dir, f)));
}

/** Why latentLens.model.directory cannot be used, in the editor's words, or undefined when it can. */
export function modelFolderProblem(dir: string): string | undefined {
  const isDir = fs.existsSync(dir) && fs.statSync(dir).isDirectory();
  const missing = isDir ? missingModelFiles(dir) : [];
  if (isDir && missing.length === 0) return undefined;
  const what = isDir ? `has no ${missing.join(' or ')}` : 'is not a folder';
  return `Latent Lens: latentLens.model.directory is ${dir}, which ${what}. Choose the folder of a GPT-2 model (config.json and model.safetensors).`;
}

/** The settings scope that decides `key`: where the user's choice must go to take effect. */
function targetOf(key: string): vscode.ConfigurationTarget {
  const i = vscode.workspace.getConfiguration(SECTION).inspect(key);
  if (i?.workspaceFolderValue !== undefined) return vscode.ConfigurationTarget.WorkspaceFolder;
  if (i?.workspaceValue !== undefined) return vscode.ConfigurationTarget.Workspace;
  return vscode.ConfigurationTarget.Global;
}

/** Asks for a GPT-2 folder and makes it the model; false when the user gave none. */
export async function chooseModelFolder(lens: Lens): Promise<boolean> {
  const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title: 'Latent Lens: a GPT-2 folder (config.json and model.safetensors)', openLabel: 'Use this GPT-2' });
  const dir = picked?.[0]?.fsPath;
  if (!dir) return false;
  const missing = missingModelFiles(dir);
  if (missing.length) {
    background(lens.log, vscode.window.showErrorMessage(`Latent Lens: ${path.basename(dir)} has no ${missing.join(' or ')}; choose the folder of a GPT-2 model from Hugging Face (e.g. openai-community/gpt2).`));
    return false;
  }
  const config = vscode.workspace.getConfiguration(SECTION);
  await config.update('model.directory', dir, targetOf('model.directory'));
  await config.update('model.source', 'localDirectory', targetOf('model.source'));
  lens.log.info(`model folder chosen: ${dir}`);
  return true;
}

/**
 * Shows `message` (by default the offline one, which also offers the stand-in); `retry` runs again
 * once the user made a choice that lets it work.
 */
export async function offerModelChoices(lens: Lens, retry: () => Promise<void>, message = OFFLINE_MESSAGE): Promise<void> {
  const offline = message === OFFLINE_MESSAGE;
  const choice = await vscode.window.showErrorMessage(message, ...(offline ? [USE_STAND_IN] : []), CHOOSE_FOLDER, OPEN_SETTINGS);
  if (choice === USE_STAND_IN) {
    lens.standIn = true;
    lens.log.info('the random-weights stand-in is used for the default model in this window');
    return retry();
  }
  if (choice === CHOOSE_FOLDER) {
    if (await chooseModelFolder(lens)) return retry();
    return;
  }
  if (choice === OPEN_SETTINGS) await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.model`);
}
