import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('latentLens.trainOnFile', async () => {
      await vscode.window.showInformationMessage(
        'Latent Lens: "Train SAE on this file" will tokenize this document with GPT-2, extract MLP activations, train a sparse autoencoder and decorate every token with its latents. ' +
          'The editor experience is not built yet; use the `latent-lens` CLI (extract) meanwhile.',
      );
    }),
  );
}

export function deactivate(): void {}
