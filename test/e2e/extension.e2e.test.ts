// End-to-end: the packaged extension inside a real VS Code (see harness.ts). Run by scripts/test-e2e.sh.
import { after, before, test } from 'node:test';
import { VsCode } from './harness';

let vscode: VsCode;

before(async () => {
  vscode = await VsCode.launch();
});

after(async () => {
  await vscode?.close();
});

test('"Latent Lens: Train SAE on this file" runs from the command palette on the sample document', { timeout: 120_000 }, async () => {
  await vscode.openFile('palinka.md');
  await vscode.runCommand('Latent Lens: Train SAE on this file');
  await vscode.notification('Latent Lens: training on palinka.md').waitFor({ timeout: 30_000 });
  await vscode.screenshot('train-command');
});
