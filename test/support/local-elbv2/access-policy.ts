/**
 * Stand-ins for AWS authentication and IAM: which access keys are still valid (to test
 * credential rotation) and which target groups the caller may change (to test narrow
 * policies). Both are switchable at runtime; `undefined` means "allow all".
 */
import type { CallerCredential } from './caller-credential.ts';
import { ElbError, accessDenied } from './elb-error.ts';

/**
 * Actions IAM can scope to a target group ARN. Describe* actions support no resource-level
 * permissions in IAM, so an allow-list on target groups never blocks them.
 */
export const RESOURCE_SCOPED_ACTIONS: ReadonlySet<string> = new Set([
  'RegisterTargets',
  'DeregisterTargets',
  'ModifyTargetGroupAttributes',
]);

/** Credential and resource checks, mutable at runtime. */
export class AccessPolicy {
  private acceptedKeys: ReadonlySet<string> | undefined;
  private allowedArns: ReadonlySet<string> | undefined;

  constructor(
    private readonly accountId: string,
    acceptedAccessKeyIds?: readonly string[],
    allowedTargetGroupArns?: readonly string[],
  ) {
    this.setAcceptedAccessKeyIds(acceptedAccessKeyIds);
    this.setAllowedTargetGroups(allowedTargetGroupArns);
  }

  /** Only these access keys are accepted from now on (undefined = any). */
  setAcceptedAccessKeyIds(ids: readonly string[] | undefined): void {
    this.acceptedKeys = ids === undefined ? undefined : new Set(ids);
  }

  /** Only these target groups may be changed from now on (undefined = any). */
  setAllowedTargetGroups(arns: readonly string[] | undefined): void {
    this.allowedArns = arns === undefined ? undefined : new Set(arns);
  }

  /** The error AWS would send for this credential, or undefined when it is acceptable. */
  checkCredential(credential: CallerCredential): ElbError | undefined {
    switch (credential.kind) {
      case 'missing':
        return new ElbError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
      case 'malformed':
        return new ElbError('IncompleteSignature', credential.detail, 400);
      case 'sigv4':
        if (this.acceptedKeys !== undefined && !this.acceptedKeys.has(credential.accessKeyId)) {
          return new ElbError('ExpiredToken', 'The security token included in the request is expired', 403);
        }
        return undefined;
    }
  }

  /** The AccessDenied error for changing `targetGroupArn` with `action`, or undefined when allowed. */
  checkResource(action: string, targetGroupArn: string | undefined, caller: string): ElbError | undefined {
    if (this.allowedArns === undefined || targetGroupArn === undefined || !RESOURCE_SCOPED_ACTIONS.has(action)) return undefined;
    if (this.allowedArns.has(targetGroupArn)) return undefined;
    return accessDenied(action, targetGroupArn, this.accountId, caller);
  }
}
