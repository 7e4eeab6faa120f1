/**
 * Errors as ELBv2 reports them: an AWS error code, a message, an HTTP status and the
 * Sender/Receiver fault type. The model throws these; the HTTP layer renders them as
 * `<ErrorResponse>` documents.
 */

/** An AWS-shaped error: what the SDK will see as `err.name` (after its mapping) and `err.message`. */
export class ElbError extends Error {
  override readonly name = 'ElbError';

  constructor(
    /** The wire error code, e.g. `TargetGroupNotFound` (the SDK maps it to `TargetGroupNotFoundException`). */
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }

  /** `Sender` for client errors, `Receiver` for server faults, as in AWS query responses. */
  get faultType(): 'Sender' | 'Receiver' {
    return this.httpStatus >= 500 ? 'Receiver' : 'Sender';
  }
}

/** `ValidationError` (400): bad or missing parameters. */
export function validationError(message: string): ElbError {
  return new ElbError('ValidationError', message);
}

/** A Coral-style constraint message: `1 validation error detected: Value X at 'field' failed to satisfy constraint: ...`. */
export function constraintViolations(violations: readonly string[]): ElbError {
  const count = violations.length;
  return validationError(`${count} validation error${count === 1 ? '' : 's'} detected: ${violations.join('; ')}`);
}

/** `TargetGroupNotFound` (400). */
export function targetGroupNotFound(message: string): ElbError {
  return new ElbError('TargetGroupNotFound', message);
}

/** `InvalidTarget` (400): a target the group cannot take. */
export function invalidTarget(message: string): ElbError {
  return new ElbError('InvalidTarget', message);
}

/** `Throttling` (400, "Rate exceeded"): the code ELBv2 puts on the wire (CloudTrail calls it ThrottlingException). */
export function throttlingError(): ElbError {
  return new ElbError('Throttling', 'Rate exceeded');
}

/** `AccessDenied` (403), worded like an IAM denial for the given action and resource. */
export function accessDenied(action: string, resource: string, accountId: string, caller: string): ElbError {
  return new ElbError(
    'AccessDenied',
    `User: arn:aws:sts::${accountId}:assumed-role/ecsAnywhereInstanceRole/${caller} is not authorized to perform: ` +
      `elasticloadbalancing:${action} on resource: ${resource} because no identity-based policy allows the ` +
      `elasticloadbalancing:${action} action`,
    403,
  );
}

/** `InternalFailure` (500), the generic AWS server fault. */
export function internalFailure(): ElbError {
  return new ElbError(
    'InternalFailure',
    'The request processing has failed because of an unknown error, exception or failure.',
    500,
  );
}

/** `ServiceUnavailable` (503), a temporary server-side failure. */
export function serviceUnavailable(): ElbError {
  return new ElbError('ServiceUnavailable', 'The request has failed due to a temporary failure of the server.', 503);
}
