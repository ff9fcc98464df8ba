/** Every command of the extension, one handler per entry of the command table, wrapped so failures are reported and never left as rejections. */
import * as vscode from 'vscode';
import { guarded } from '../errors/report';
import type { Lens } from '../lens';
import { COMMANDS, type CommandName } from './ids';
import { parseLatentArg } from './latentArg';
import { applySaeToFile } from './applySae';
import { scanLayersOfFile } from './scanLayers';
import { trainOnFile } from './trainOnFile';
import { trainOnFolder } from './trainOnFolder';

async function askLatent(): Promise<number | undefined> {
  const input = await vscode.window.showInputBox({
    title: 'Latent Lens',
    prompt: 'Latent id (e.g. 123)',
    validateInput: (v) => (/^\s*#?\d+\s*$/.test(v) ? undefined : 'Type a latent id: a whole number such as 123.'),
  });
  return input === undefined ? undefined : Number(input.replace('#', ''));
}

export function registerCommands(lens: Lens): vscode.Disposable[] {
  const latentCommand = (act: (latent: number, uri?: string) => Promise<void>) => async (arg?: unknown) => {
    const { latent, uri } = parseLatentArg(arg);
    const id = latent ?? (await askLatent());
    if (id !== undefined) await act(id, uri);
  };
  const handlers: Record<CommandName, (arg?: unknown) => Promise<void> | void> = {
    trainOnFile: (uri) => trainOnFile(lens, uri),
    trainOnFolder: (uri) => trainOnFolder(lens, uri),
    applySae: (uri) => applySaeToFile(lens, uri),
    scanLayers: (uri) => scanLayersOfFile(lens, uri),
    cancelRun: async () => {
      const uri = vscode.window.activeTextEditor?.document.uri.toString();
      const jobId = uri === undefined ? undefined : lens.client.jobFor(uri);
      if (jobId) await lens.client.cancel(jobId);
    },
    showLatent: latentCommand((latent, uri) => lens.reveal(latent, uri)),
    highlightLatent: latentCommand((latent, uri) => lens.highlight(latent, uri)),
    clearHighlight: () => lens.highlight(null),
  };
  return (Object.keys(COMMANDS) as CommandName[]).map((name) => vscode.commands.registerCommand(COMMANDS[name], guarded(lens.log, handlers[name])));
}
