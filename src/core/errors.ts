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
