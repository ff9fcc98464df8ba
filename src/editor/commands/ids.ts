/**
 * Every command the extension contributes, by name: the one table that registration, links, the
 * status bar and the browser use (test/editor/commands/ids.test.ts holds it equal to package.json's
 * contributes.commands), and the context keys its `when` clauses read.
 */
export const COMMANDS = {
  trainOnFile: 'latentLens.trainOnFile',
  trainOnFolder: 'latentLens.trainOnFolder',
  applySae: 'latentLens.applySae',
  scanLayers: 'latentLens.scanLayers',
  cancelRun: 'latentLens.cancelRun',
  showLatent: 'latentLens.showLatent',
  highlightLatent: 'latentLens.highlightLatent',
  clearHighlight: 'latentLens.clearHighlight',
} as const;

export type CommandName = keyof typeof COMMANDS;
export type CommandId = (typeof COMMANDS)[CommandName];

/** Context keys set with `setContext`, for package.json's `when` clauses. */
export const CONTEXT = {
  /** The followed document has a run. */
  hasRun: 'latentLens.hasRun',
  /** The active document has a run going on. */
  running: 'latentLens.running',
  /** The active document shows one latent's heatmap. */
  highlighting: 'latentLens.highlighting',
} as const;

export type ContextKey = (typeof CONTEXT)[keyof typeof CONTEXT];
