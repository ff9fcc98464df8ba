/**
 * What the editor adds to a core UserError: the settings to open, and (for messages written for the
 * CLI, which name flags such as --model or --layer) how the flags map to settings.
 */
import type { FailureCode } from '../worker/client';

export interface Advice {
  /** Query for the Settings editor (workbench.action.openSettings). */
  settings: string;
  /** Appended to the message. */
  hint?: string;
}

const MODEL_HINT = 'In VS Code, set latentLens.model.source to "localDirectory" and latentLens.model.directory to a GPT-2 directory (config.json + model.safetensors).';
const FLAGS_HINT = 'In VS Code the flags are settings: --preset, --layer, --hook, --latents, --k, --epochs, --lr and --seed are latentLens.preset, latentLens.layer and so on.';

const BY_CODE: Partial<Record<FailureCode, Advice>> = {
  E_OFFLINE: { settings: 'latentLens.model', hint: MODEL_HINT },
  E_MODEL: { settings: 'latentLens.model', hint: MODEL_HINT },
  E_CHECKSUM: { settings: 'latentLens.model', hint: MODEL_HINT },
  E_SAFETENSORS: { settings: 'latentLens.model', hint: MODEL_HINT },
  E_NONFINITE: { settings: 'latentLens.model', hint: MODEL_HINT },
  E_VOCAB: { settings: 'latentLens.model', hint: MODEL_HINT },
  E_SAE: { settings: 'latentLens.sae' },
  E_HOOK: { settings: 'latentLens', hint: FLAGS_HINT },
  E_DIN: { settings: 'latentLens', hint: FLAGS_HINT },
  E_USAGE: { settings: 'latentLens', hint: FLAGS_HINT },
  E_TOO_MANY_TOKENS: { settings: 'latentLens.maxTokens' },
  E_LEXICON: { settings: 'latentLens.concept' },
  E_WORKER_EXIT: { settings: 'latentLens' },
};

export function adviceFor(code: FailureCode): Advice | undefined {
  return BY_CODE[code];
}
