/** Reads the settings from VS Code, and what Restricted Mode turns off. */
import * as vscode from 'vscode';
import { readSettings, RESTRICTED_SETTINGS, restrictedNoticeText, SECTION, type ReadSettings } from './settings';

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
 * them the workspace tried to set, or undefined when nothing is held back.
 */
export function restrictedNotice(): string | undefined {
  if (vscode.workspace.isTrusted) return undefined;
  const c = vscode.workspace.getConfiguration(SECTION);
  const ignored = RESTRICTED_SETTINGS.filter((k) => {
    const i = c.inspect(k);
    return i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined;
  });
  return restrictedNoticeText(ignored);
}
