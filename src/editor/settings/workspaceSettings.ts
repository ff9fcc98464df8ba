/** Reads the settings from VS Code, and what Restricted Mode turns off. */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { readSettings, RESTRICTED_SETTINGS, restrictedNoticeText, SECTION, type ReadSettings } from './schema';

export function currentSettings(): ReadSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  return readSettings((key) => c.get(key));
}

/** The folder relative paths in settings are resolved against. */
export function settingsBase(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/**
 * In an untrusted workspace VS Code ignores workspace values of the restricted settings
 * (package.json capabilities.untrustedWorkspaces.restrictedConfigurations); this says which of
 * them the workspace tried to set, or undefined when nothing is held back. VS Code drops those
 * values from the configuration altogether (inspect() shows no workspace value), so the
 * workspace's settings files are searched for the keys; no path they name is read.
 */
export function restrictedNotice(): string | undefined {
  if (vscode.workspace.isTrusted) return undefined;
  const files = [vscode.workspace.workspaceFile, ...(vscode.workspace.workspaceFolders ?? []).map((f) => vscode.Uri.joinPath(f.uri, '.vscode', 'settings.json'))];
  const texts = files.filter((u): u is vscode.Uri => u?.scheme === 'file').map((u) => readOrEmpty(u.fsPath));
  return restrictedNoticeText(RESTRICTED_SETTINGS.filter((k) => texts.some((t) => t.includes(`"${SECTION}.${k}"`))));
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
