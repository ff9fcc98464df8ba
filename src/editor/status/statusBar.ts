/** The status-bar item of the active document's run. */
import * as vscode from 'vscode';
import { statusView, type StatusInput } from './statusText';

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('latentLens.status', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'Latent Lens';
  }

  show(input: StatusInput): void {
    const v = statusView(input);
    if (!v) {
      this.item.hide();
      return;
    }
    this.item.text = v.text;
    this.item.tooltip = v.tooltip;
    this.item.command = v.command;
    this.item.backgroundColor = v.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
