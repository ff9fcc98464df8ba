/** Why the worker process ended, in words a user can act on. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the worker wrote to stderr. */
  stderrTail: string;
}

const OUT_OF_MEMORY = /heap out of memory|Allocation failed|std::bad_alloc|Cannot allocate memory|ENOMEM/i;

export function describeExit(e: ExitInfo): string {
  const after = 'Run the command again to start a new worker; Show Log has the details.';
  if (OUT_OF_MEMORY.test(e.stderrTail)) {
    return `The Latent Lens worker ran out of memory. Select a smaller part of the document, or lower latentLens.latents or latentLens.maxTokens. ${after}`;
  }
  if (e.signal === 'SIGKILL') {
    return `The Latent Lens worker was killed (SIGKILL) by another program or by the system, which does this when memory runs out. ${after}`;
  }
  if (e.signal) return `The Latent Lens worker was stopped by signal ${e.signal}. ${after}`;
  return `The Latent Lens worker exited unexpectedly (exit code ${e.code ?? 'unknown'}). ${after}`;
}
