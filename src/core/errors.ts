/** What kind of input a UserError is about; the editor picks the settings to offer by it (editor/errors/advice.ts). */
export type ErrorCode =
  /** A flag, setting or option value: out of range, malformed, or contradicting another. */
  | 'E_USAGE'
  /** An input file that cannot be read. */
  | 'E_INPUT'
  /** The document is empty or only whitespace. */
  | 'E_EMPTY'
  /** The document looks like a binary file. */
  | 'E_BINARY'
  /** Too few tokens, or nothing varies between them. */
  | 'E_TOKENS'
  /** More tokens than latentLens.maxTokens allows. */
  | 'E_TOO_MANY_TOKENS'
  /** A token id outside the model's vocabulary. */
  | 'E_VOCAB'
  /** A GPT-2 model directory that is missing, incomplete or inconsistent. */
  | 'E_MODEL'
  /** The model cannot be downloaded (no network, hub unreachable). */
  | 'E_OFFLINE'
  /** A downloaded file whose size or sha256 disagrees with the hub's. */
  | 'E_CHECKSUM'
  /** A safetensors file that is truncated or malformed. */
  | 'E_SAFETENSORS'
  /** NaN or infinite values in weights or activations. */
  | 'E_NONFINITE'
  /** An unknown hook name or a layer out of range. */
  | 'E_HOOK'
  /** Activations of another width than the SAE expects. */
  | 'E_DIN'
  /** An SAE (folder, hub path or release) that is missing, malformed, inconsistent or of a kind Latent Lens cannot run. */
  | 'E_SAE'
  /** A saved activations file that is not as `extract` writes it. */
  | 'E_ACTIVATIONS'
  /** Arrays of inconsistent shapes handed to the analysis. */
  | 'E_SHAPE'
  /** A forced CUDA provider that cannot start. */
  | 'E_PROVIDER'
  /** An output path that cannot be written or is not ours to replace. */
  | 'E_OUTPUT'
  /** A run directory that is missing or damaged. */
  | 'E_RUN'
  /** A run directory of another format version. */
  | 'E_RUN_VERSION'
  /** analysis.json that is missing or damaged. */
  | 'E_REPORT'
  /** analysis.json of another format version. */
  | 'E_REPORT_VERSION'
  /** A concept word list that cannot be read or is empty. */
  | 'E_LEXICON'
  /** A latent id outside the run's latents. */
  | 'E_LATENT'
  /** A latent command with no run to act on (editor). */
  | 'E_NO_RUN'
  /** The user cancelled (CancelledError). */
  | 'E_CANCELLED';

/**
 * An error caused by the user's input (a file, a flag, a setting): its message says what is wrong
 * and what to do, and callers show it as it is, without a stack trace.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(message: string, readonly code: ErrorCode = 'E_INPUT') {
    super(message);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/**
 * Thrown when the user cancels a long operation (AbortSignal). A UserError (code E_CANCELLED) so that
 * generic handlers print it plainly; callers that care test isCancelled and report a cancel, not a failure.
 */
export class CancelledError extends UserError {
  override name = 'CancelledError';
  constructor(what = 'operation') {
    super(`${what} cancelled.`, 'E_CANCELLED');
  }
}

export function isCancelled(e: unknown): e is CancelledError {
  return e instanceof CancelledError;
}

/** Throws CancelledError when `signal` has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

/**
 * Runs `work`; whatever it throws once `signal` has been aborted (a fetch's AbortError, a session's
 * error) is reported as CancelledError(what), so every cancel reads the same.
 */
export async function cancelledAs<T>(signal: AbortSignal | undefined, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (signal?.aborted && !isCancelled(e)) throw new CancelledError(what);
    throw e;
  }
}
