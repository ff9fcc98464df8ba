/** Constants of the work that follows a run, shared by the host and the latent browser (free of imports, so the webview bundle stays small). */
import type { RunWork } from './protocol';

export const NO_WORK: RunWork = { evidence: null, latentEvidence: null, stability: null };

/** Seeds of "Check stability", the run's own included (the CLI's default). */
export const STABILITY_SEEDS = 5;
