/**
 * Target group attributes (DescribeTargetGroupAttributes / ModifyTargetGroupAttributes):
 * the keys an ALB `ip` target group carries, their defaults and their allowed values.
 */
import { validationError } from './elb-error.ts';

/** The attribute that sets how long a deregistered target stays `draining`. */
export const DEREGISTRATION_DELAY_KEY = 'deregistration_delay.timeout_seconds';

/** The attribute that, set to `false`, makes ELBv2 refuse `AvailabilityZone: all` for off-VPC targets. */
export const CROSS_ZONE_KEY = 'load_balancing.cross_zone.enabled';

type AttributeRule = (value: string) => boolean;

const isIntegerIn = (min: number, max: number): AttributeRule => (value) =>
  /^\d{1,10}$/.test(value) && Number(value) >= min && Number(value) <= max;
const isOneOf = (...allowed: string[]): AttributeRule => (value) => allowed.includes(value);

const RULES: ReadonlyMap<string, { readonly rule: AttributeRule; readonly expected: string }> = new Map([
  [DEREGISTRATION_DELAY_KEY, { rule: isIntegerIn(0, 3600), expected: 'an integer between 0 and 3600' }],
  ['stickiness.enabled', { rule: isOneOf('true', 'false'), expected: "'true' or 'false'" }],
  ['stickiness.type', { rule: isOneOf('lb_cookie', 'app_cookie'), expected: "'lb_cookie' or 'app_cookie'" }],
  ['stickiness.lb_cookie.duration_seconds', { rule: isIntegerIn(1, 604800), expected: 'an integer between 1 and 604800' }],
  ['slow_start.duration_seconds', { rule: (v) => v === '0' || isIntegerIn(30, 900)(v), expected: '0 or an integer between 30 and 900' }],
  [
    'load_balancing.algorithm.type',
    { rule: isOneOf('round_robin', 'least_outstanding_requests', 'weighted_random'), expected: "'round_robin', 'least_outstanding_requests' or 'weighted_random'" },
  ],
  [CROSS_ZONE_KEY, { rule: isOneOf('true', 'false', 'use_load_balancer_configuration'), expected: "'true', 'false' or 'use_load_balancer_configuration'" }],
]);

/** Attributes of a new target group, in the order AWS lists them. */
export function defaultAttributes(deregistrationDelaySeconds: number): Map<string, string> {
  return new Map([
    ['stickiness.enabled', 'false'],
    [DEREGISTRATION_DELAY_KEY, String(deregistrationDelaySeconds)],
    ['stickiness.type', 'lb_cookie'],
    ['stickiness.lb_cookie.duration_seconds', '86400'],
    ['slow_start.duration_seconds', '0'],
    ['load_balancing.algorithm.type', 'round_robin'],
    [CROSS_ZONE_KEY, 'use_load_balancer_configuration'],
  ]);
}

/** Throws ValidationError unless every key is known and every value allowed. */
export function validateAttributeChanges(changes: ReadonlyArray<readonly [string, string]>): void {
  for (const [key, value] of changes) {
    const known = RULES.get(key);
    if (!known) throw validationError(`Target group attribute key '${key}' is not recognized`);
    if (!known.rule(value)) {
      throw validationError(`Target group attribute '${key}' must be ${known.expected}, not '${value}'`);
    }
  }
}
