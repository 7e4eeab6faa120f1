/**
 * Errors that carry what was being done and whether trying again can help.
 * Library code throws these; only the entry point decides to exit.
 */

/** A configuration problem: startup stops with a message naming the option. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`invalid ${option}: ${message}`);
  }
}

/**
 * Whether an operation failed for a reason that may pass: `throttled` (the account's API
 * budget is spent: slow down) and `transient` (network, 5xx) do; `permanent` does not.
 */
export type ErrorKind = 'transient' | 'throttled' | 'permanent';

/** An error from an external system, with the operation and resource it concerned. */
export class OperationError extends Error {
  override readonly name = 'OperationError';
  constructor(
    readonly operation: string,
    readonly resource: string,
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} ${resource}: ${code}: ${message}`, options);
  }
}

/** The message of anything thrown, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
