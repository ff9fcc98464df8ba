/** Every command of the extension, wrapped so failures are reported and never left as rejections. */
import * as vscode from 'vscode';
import { guarded } from '../errors/report';
import { parseLatentArg } from './latentArg';
import type { Lens } from '../lens';
import { trainOnFile } from './trainOnFile';

async function askLatent(): Promise<number | undefined> {
  const input = await vscode.window.showInputBox({
    title: 'Latent Lens',
    prompt: 'Latent id (e.g. 123)',
    validateInput: (v) => (/^\s*#?\d+\s*$/.test(v) ? undefined : 'Type a latent id: a whole number such as 123.'),
  });
  return input === undefined ? undefined : Number(input.replace('#', ''));
}

export function registerCommands(lens: Lens): vscode.Disposable[] {
  const { log } = lens;
  const latentCommand = (act: (latent: number, uri?: string) => Promise<void>) =>
    guarded(log, async (arg?: unknown) => {
      const { latent, uri } = parseLatentArg(arg);
      const id = latent ?? (await askLatent());
      if (id !== undefined) await act(id, uri);
    });
  return [
    vscode.commands.registerCommand('latentLens.trainOnFile', guarded(log, (uri?: unknown) => trainOnFile(lens, uri))),
    vscode.commands.registerCommand(
      'latentLens.cancelRun',
      guarded(log, async () => {
        const uri = vscode.window.activeTextEditor?.document.uri.toString();
        const jobId = uri === undefined ? undefined : lens.client.jobFor(uri);
        if (jobId) await lens.client.cancel(jobId);
      }),
    ),
    vscode.commands.registerCommand('latentLens.showLatent', latentCommand((latent, uri) => lens.reveal(latent, uri))),
    vscode.commands.registerCommand('latentLens.highlightLatent', latentCommand((latent, uri) => lens.highlight(latent, uri))),
    vscode.commands.registerCommand('latentLens.clearHighlight', guarded(log, () => lens.highlight(null))),
  ];
}
