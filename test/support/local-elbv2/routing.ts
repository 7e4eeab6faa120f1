/**
 * Which target an ALB sends a new request to: the pure routing choice behind a listener
 * (load-balancer-listener.ts), as data in, data out.
 *
 * Eligibility, from the ALB user guide:
 * - "Each load balancer node routes requests only to the healthy targets" and "If a target group
 *   contains only unhealthy registered targets, the load balancer routes requests to all those
 *   targets, regardless of their health status ... the load balancer fails open"
 *   (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
 *   With the default target group health settings ("a target group is considered healthy as long
 *   as it has at least one healthy target", routing failover threshold 1,
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health.html)
 *   that means: no healthy target -> fail open. To which targets is where the sources differ:
 *   - `unhealthy` (the default, the guide's words "only unhealthy registered targets"): to the
 *     unhealthy ones; `initial` targets get no request, so a group holding only initial and
 *     draining targets answers 503. This is what the AWS Load Balancer Controller documents for
 *     rolling updates without readiness gates: "only targets in Initial or Draining state; this
 *     results in service outage" (its pod readiness gate page; issue #1124).
 *   - `initial-too`: to every registered target that is not draining, initial ones included
 *     (a group whose only target is still initializing gets traffic: the ALB gotcha recorded in
 *     open-guides/og-aws PR #116).
 * - "Elastic Load Balancing stops sending requests to targets that are deregistering"
 *   (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/modify-target-group-health-settings.html, "Deregistration delay"):
 *   a draining target never gets a new request, not even when failing open.
 *
 * Algorithms: the group attribute `load_balancing.algorithm.type` ("round_robin,
 * least_outstanding_requests, or weighted_random. The default is round_robin",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-group-routing-configuration).
 * weighted_random without anomaly mitigation gives every target the same weight: a uniform pick.
 */
import type { TargetState } from './health-state.ts';

/** A target as one listener sees it: the routing view's phase plus its live health. */
export interface RoutableTarget {
  /** `id:port`. */
  readonly key: string;
  readonly id: string;
  readonly port: number;
  /** `serving` while registered in this listener's view, `draining` after the deregistration reached it. */
  readonly phase: 'serving' | 'draining';
  readonly state: TargetState;
}

/** The targets a new request may go to, and whether that set is the fail-open one. */
export interface Eligible {
  readonly targets: readonly RoutableTarget[];
  /** True when no target is healthy and the load balancer routes to all registered ones. */
  readonly failOpen: boolean;
}

/** Which targets a group without a healthy one fails open to (see above). */
export type FailOpenMode = 'unhealthy' | 'initial-too';
export const DEFAULT_FAIL_OPEN: FailOpenMode = 'unhealthy';

/** Values of `load_balancing.algorithm.type`. */
export type RoutingAlgorithm = 'round_robin' | 'least_outstanding_requests' | 'weighted_random';

/** The default of `load_balancing.algorithm.type`. */
export const DEFAULT_ROUTING_ALGORITHM: RoutingAlgorithm = 'round_robin';

/**
 * Healthy targets; none healthy -> fail open (to the registered non-draining targets that are
 * not initial, or with `initial-too` to all of them); draining never. Sorted by key.
 */
export function eligibleTargets(targets: readonly RoutableTarget[], mode: FailOpenMode = DEFAULT_FAIL_OPEN): Eligible {
  const serving = targets.filter((target) => target.phase === 'serving').sort(byKey);
  const healthy = serving.filter((target) => target.state === 'healthy');
  if (healthy.length > 0) return { targets: healthy, failOpen: false };
  const open = mode === 'initial-too' ? serving : serving.filter((target) => target.state !== 'initial');
  return { targets: open, failOpen: open.length > 0 };
}

/** What a pick needs besides the eligible targets; `turn` counts picks (the round-robin position). */
export interface PickContext {
  readonly turn: number;
  /** Requests in flight per target key (least outstanding requests). */
  readonly outstanding: (key: string) => number;
  /** A number in [0, 1) (weighted_random). */
  readonly random: () => number;
}

/**
 * Picks one of `eligible` (as returned by eligibleTargets, sorted by key), undefined when empty.
 * round_robin: the `turn`-th in key order. least_outstanding_requests: the one with the fewest
 * requests in flight, ties broken round-robin. weighted_random: uniform.
 */
export function pickTarget(algorithm: RoutingAlgorithm, eligible: readonly RoutableTarget[], context: PickContext): RoutableTarget | undefined {
  if (eligible.length === 0) return undefined;
  const start = context.turn % eligible.length;
  if (algorithm === 'weighted_random') return eligible[Math.floor(context.random() * eligible.length) % eligible.length];
  if (algorithm === 'round_robin') return eligible[start];
  let best: RoutableTarget | undefined;
  let bestCount = Number.POSITIVE_INFINITY;
  for (let i = 0; i < eligible.length; i++) {
    const candidate = eligible[(start + i) % eligible.length];
    if (!candidate) continue;
    const count = context.outstanding(candidate.key);
    if (count < bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}

/** Reads an attribute value as an algorithm; anything else is the default. */
export function routingAlgorithmOf(value: string | undefined): RoutingAlgorithm {
  return value === 'least_outstanding_requests' || value === 'weighted_random' || value === 'round_robin' ? value : DEFAULT_ROUTING_ALGORITHM;
}

function byKey(a: RoutableTarget, b: RoutableTarget): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
