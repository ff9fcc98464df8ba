/**
 * An error caused by the user's input (a file, a flag, a setting): its message says what is wrong
 * and what to do, and callers show it as it is, without a stack trace.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(message: string, readonly code: string = 'E_INPUT') {
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
