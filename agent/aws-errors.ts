/**
 * How the AWS SDK's errors are read, for every AWS adapter (ELBv2, ECS): the error code, whether
 * trying again can help (throttling, 5xx, network, credentials not there yet) and whether the
 * API gave a usable answer at all.
 */
import type { ErrorKind } from './errors.ts';

export const EXPIRED_TOKEN_CODES = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'InvalidClientTokenId', 'UnrecognizedClientException']);
export const THROTTLING_CODES = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);
const TRANSIENT_CODES = new Set([
  'InternalFailure', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'TimeoutError',
  'EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'CredentialsProviderError', 'CredentialsFileMissing', 'CredentialsFileUnreadable', 'CredentialsProfileMissing',
]);

/** The AWS error code of anything the SDK throws. */
export function errorCodeOf(err: unknown): string {
  const e = err as { Code?: string; name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.Code ?? e?.code ?? e?.name ?? 'Error';
}

/** Whether an error may pass by itself (throttling, 5xx, network, credentials not there yet), and whether it was throttling. */
export function kindOf(err: unknown): ErrorKind {
  const e = err as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const code = errorCodeOf(err);
  const status = e?.$metadata?.httpStatusCode;
  if (THROTTLING_CODES.has(code)) return 'throttled';
  if (TRANSIENT_CODES.has(code) || EXPIRED_TOKEN_CODES.has(code) || e?.$retryable) return 'transient';
  if (status !== undefined && status >= 500) return 'transient';
  if (status === undefined && code !== 'ValidationError') return 'transient';
  return 'permanent';
}

/** Whether the API gave a usable answer: a success, or an error about the request itself (InvalidTarget, AccessDenied...). */
export function isReachable(err: unknown): boolean {
  if (err === undefined) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const code = errorCodeOf(err);
  return status !== undefined && status < 500 && !THROTTLING_CODES.has(code) && !EXPIRED_TOKEN_CODES.has(code);
}
