/**
 * The target health state machine, as ELBv2 describes it: a registered target starts
 * `initial`, one passing check makes it `healthy`, `UnhealthyThresholdCount` consecutive
 * failures make it `unhealthy`, and `HealthyThresholdCount` consecutive passes bring it
 * back. Pure: the caller feeds probe results in.
 */

/** Target states ELBv2 reports in DescribeTargetHealth. */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';

/** State plus the reason code and description AWS attaches to every non-healthy state. */
export interface TargetHealthStatus {
  readonly state: TargetState;
  readonly reason?: string;
  readonly description?: string;
}

/** What one health check found. */
export type ProbeResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'Target.ResponseCodeMismatch' | 'Target.Timeout' | 'Target.FailedHealthChecks';
      readonly description: string;
    };

/** A target's health and the streak that decides the next transition. */
export interface HealthProgress {
  readonly status: TargetHealthStatus;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
}

/** Thresholds of a target group's health check. */
export interface HealthThresholds {
  readonly healthy: number;
  readonly unhealthy: number;
}

/** Status of a target just registered, before any check has run. */
export const REGISTRATION_IN_PROGRESS: TargetHealthStatus = {
  state: 'initial',
  reason: 'Elb.RegistrationInProgress',
  description: 'Target registration is in progress',
};

/** Status of a target after a check ran but before it counted as healthy or unhealthy. */
export const INITIAL_HEALTH_CHECKING: TargetHealthStatus = {
  state: 'initial',
  reason: 'Elb.InitialHealthChecking',
  description: 'Initial health checks in progress',
};

/** Status of a deregistered target during the deregistration delay. */
export const DEREGISTRATION_IN_PROGRESS: TargetHealthStatus = {
  state: 'draining',
  reason: 'Target.DeregistrationInProgress',
  description: 'Target deregistration is in progress',
};

/** What DescribeTargetHealth reports for a target it was asked about but does not hold. */
export const NOT_REGISTERED: TargetHealthStatus = {
  state: 'unused',
  reason: 'Target.NotRegistered',
  description: 'Target is not registered to the target group',
};

/** Health of a freshly registered (or re-registered) target. */
export function newHealthProgress(): HealthProgress {
  return { status: REGISTRATION_IN_PROGRESS, consecutiveSuccesses: 0, consecutiveFailures: 0 };
}

/** Applies one probe result; the target must be initial, healthy or unhealthy. */
export function nextHealth(progress: HealthProgress, result: ProbeResult, thresholds: HealthThresholds): HealthProgress {
  const state = progress.status.state;
  if (result.ok) {
    const successes = progress.consecutiveSuccesses + 1;
    const becomesHealthy = state === 'initial' || state === 'healthy' || successes >= thresholds.healthy;
    return {
      status: becomesHealthy ? { state: 'healthy' } : progress.status,
      consecutiveSuccesses: successes,
      consecutiveFailures: 0,
    };
  }
  const failures = progress.consecutiveFailures + 1;
  const failed: TargetHealthStatus = { state: 'unhealthy', reason: result.reason, description: result.description };
  let status: TargetHealthStatus;
  if (state === 'unhealthy') status = failed; // keep the latest reason
  else if (failures >= thresholds.unhealthy) status = failed;
  else status = state === 'initial' ? INITIAL_HEALTH_CHECKING : progress.status;
  return { status, consecutiveSuccesses: 0, consecutiveFailures: failures };
}
