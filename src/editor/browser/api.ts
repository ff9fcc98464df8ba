/**
 * The seam between the editor side and the latent browser (a WebviewView, in latentBrowser.ts):
 * the browser implements LatentBrowser, the Lens implements LatentBrowserHost, and extension.ts
 * connects them with Lens.attachBrowser. Messages inside the webview are in protocol.ts.
 */
import type * as vscode from 'vscode';
import type { BrowserState, LexiconChoice, RunWork } from '../../shared/protocol';

export interface LatentBrowser extends vscode.Disposable {
  /** Shows the panel with the latent selected (the hover's "Show in Latent Browser"). */
  reveal(latent: number): Promise<void>;
  /** The followed document, its run or the highlight changed: re-render from this state. */
  update(state: BrowserState): void;
}

/** Its methods reject with a UserError or JobFailure that the browser shows with errorReport.reportError. */
export interface LatentBrowserHost {
  /** The state for a browser that was just created or shown again. */
  browserState(): BrowserState;
  /** Highlights a latent in the editor (null: back to the per-token tints). */
  highlight(latent: number | null): Promise<void>;
  /** The latent's activation on every token of the followed run ([T]), for its text heatmap. */
  activations(latent: number): Promise<number[]>;
  /** Re-runs the analysis of the followed run with another lexicon, without retraining. */
  changeLexicon(lexicon: LexiconChoice): Promise<void>;
  /** Computes one more latent's causal evidence for the followed run (its progress and result arrive in the state). */
  latentEvidence(latent: number): Promise<void>;
  /** Trains more seeds like the followed run and compares their latents (seed stability). */
  checkStability(): Promise<void>;
  /** Stops that work on the followed run. */
  cancelFollowedWork(work: keyof RunWork): void;
}
