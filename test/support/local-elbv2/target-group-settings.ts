/**
 * CreateTargetGroup's input rules: which fields are required, their ranges, and the health
 * check defaults ELBv2 fills in per protocol. Turns raw input into complete settings.
 */
import { constraintViolations, validationError } from './elb-error.ts';
import type { ElbError } from './elb-error.ts';
import { parseHttpCodeMatcher } from './health-probe.ts';

/** Protocols a target group may use. */
export const PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'TLS', 'UDP', 'TCP_UDP', 'GENEVE'] as const;
/** Target types ELBv2 knows (this endpoint implements `ip` fully and `instance` for bookkeeping). */
export const TARGET_TYPES = ['instance', 'ip', 'lambda', 'alb'] as const;
/** Protocols a health check may use. */
export const HEALTH_CHECK_PROTOCOLS = ['HTTP', 'HTTPS', 'TCP'] as const;

/** The VPC id used when a caller of the direct helper does not name one. */
export const DEFAULT_VPC_ID = 'vpc-0123456789abcdef0';

/** CreateTargetGroup input as read from the request (all optional: rules are applied here). */
export interface CreateTargetGroupInput {
  readonly name?: string;
  readonly protocol?: string;
  readonly protocolVersion?: string;
  readonly port?: number;
  readonly vpcId?: string;
  readonly targetType?: string;
  readonly healthCheckProtocol?: string;
  readonly healthCheckPort?: string;
  readonly healthCheckEnabled?: boolean;
  readonly healthCheckPath?: string;
  readonly healthCheckIntervalSeconds?: number;
  readonly healthCheckTimeoutSeconds?: number;
  readonly healthyThresholdCount?: number;
  readonly unhealthyThresholdCount?: number;
  readonly matcherHttpCode?: string;
}

/** A target group's complete, validated settings. */
export interface TargetGroupSettings {
  readonly name: string;
  readonly protocol: string;
  readonly protocolVersion?: string;
  readonly port: number;
  readonly vpcId: string;
  readonly targetType: 'ip' | 'instance';
  readonly healthCheck: {
    readonly enabled: boolean;
    readonly protocol: 'HTTP' | 'HTTPS' | 'TCP';
    readonly port: string;
    readonly path?: string;
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    readonly healthyThreshold: number;
    readonly unhealthyThreshold: number;
    readonly matcher?: string;
  };
}

/** Validates input and fills in AWS's defaults; throws ValidationError with AWS-like wording. */
export function resolveTargetGroupSettings(input: CreateTargetGroupInput): TargetGroupSettings {
  const name = validateName(input.name);
  const targetType = input.targetType ?? 'instance';
  if (targetType !== 'ip' && targetType !== 'instance') {
    throw validationError(`Target type '${targetType}' is not supported by this local ELBv2 endpoint (only 'ip' and 'instance')`);
  }
  const protocol = input.protocol;
  if (protocol === undefined) throw validationError('A protocol must be specified');
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw enumViolation(protocol, 'protocol', PROTOCOLS);
  if (input.port === undefined) throw validationError('A port must be specified');
  checkRange(input.port, 'port', 1, 65535);
  if (input.vpcId === undefined) throw validationError('A VPC ID must be specified');
  if (!/^vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(input.vpcId)) throw validationError(`The VPC ID '${input.vpcId}' is not found`);

  const isHttp = protocol === 'HTTP' || protocol === 'HTTPS';
  const hcProtocol = input.healthCheckProtocol ?? (isHttp ? protocol : 'TCP');
  if (!isHealthCheckProtocol(hcProtocol)) {
    throw enumViolation(hcProtocol, 'healthCheckProtocol', HEALTH_CHECK_PROTOCOLS);
  }
  const hcIsHttp = hcProtocol !== 'TCP';
  if (isHttp && !hcIsHttp) {
    throw validationError(`Health check protocol '${hcProtocol}' is not supported for target groups with the '${protocol}' protocol`);
  }
  const hcPort = input.healthCheckPort ?? 'traffic-port';
  if (hcPort !== 'traffic-port' && !(/^\d{1,5}$/.test(hcPort) && Number(hcPort) >= 1 && Number(hcPort) <= 65535)) {
    throw validationError(`Health check port '${hcPort}' must be 'traffic-port' or an integer between 1 and 65535`);
  }
  const path = input.healthCheckPath ?? (hcIsHttp ? '/' : undefined);
  if (path !== undefined) {
    if (!hcIsHttp) throw validationError(`Health check path is not supported for '${hcProtocol}' health checks`);
    if (!path.startsWith('/')) throw validationError("Health check path must begin with a '/' character");
    if (path.length > 1024) throw validationError('Health check path cannot be longer than 1024 characters');
  }
  const intervalSeconds = input.healthCheckIntervalSeconds ?? 30;
  const timeoutSeconds = input.healthCheckTimeoutSeconds ?? (hcIsHttp ? 5 : 10);
  const healthyThreshold = input.healthyThresholdCount ?? 5;
  const unhealthyThreshold = input.unhealthyThresholdCount ?? 2;
  checkRange(intervalSeconds, 'healthCheckIntervalSeconds', 5, 300);
  checkRange(timeoutSeconds, 'healthCheckTimeoutSeconds', 2, 120);
  checkRange(healthyThreshold, 'healthyThresholdCount', 2, 10);
  checkRange(unhealthyThreshold, 'unhealthyThresholdCount', 2, 10);
  if (timeoutSeconds >= intervalSeconds) {
    throw validationError(`Health check timeout '${timeoutSeconds}' must be smaller than the interval '${intervalSeconds}'`);
  }
  const matcher = input.matcherHttpCode ?? (hcIsHttp ? '200' : undefined);
  if (matcher !== undefined && (!hcIsHttp || parseHttpCodeMatcher(matcher) === undefined)) {
    throw validationError(`Health check matcher HTTP code '${matcher}' must be a code, list or range between 200 and 499`);
  }
  const protocolVersion = input.protocolVersion ?? (isHttp ? 'HTTP1' : undefined);
  return {
    name,
    protocol,
    ...(protocolVersion !== undefined ? { protocolVersion } : {}),
    port: input.port,
    vpcId: input.vpcId,
    targetType,
    healthCheck: {
      enabled: input.healthCheckEnabled ?? true,
      protocol: hcProtocol,
      port: hcPort,
      ...(path !== undefined ? { path } : {}),
      intervalSeconds,
      timeoutSeconds,
      healthyThreshold,
      unhealthyThreshold,
      ...(matcher !== undefined ? { matcher } : {}),
    },
  };
}

/** True when two settings describe the same target group (CreateTargetGroup is then idempotent). */
export function sameSettings(a: TargetGroupSettings, b: TargetGroupSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Range rules of CreateTargetGroup's integer members (shared with the query reader). */
export const INTEGER_RANGES = {
  port: [1, 65535],
  healthCheckIntervalSeconds: [5, 300],
  healthCheckTimeoutSeconds: [2, 120],
  healthyThresholdCount: [2, 10],
  unhealthyThresholdCount: [2, 10],
} as const satisfies Record<string, readonly [number, number]>;

function checkRange(value: number, field: keyof typeof INTEGER_RANGES, min: number, max: number): void {
  if (!Number.isInteger(value)) {
    throw constraintViolations([`Value '${value}' at '${field}' failed to satisfy constraint: Member must be an integer`]);
  }
  if (value < min) {
    throw constraintViolations([`Value '${value}' at '${field}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`]);
  }
  if (value > max) {
    throw constraintViolations([`Value '${value}' at '${field}' failed to satisfy constraint: Member must have value less than or equal to ${max}`]);
  }
}

function enumViolation(value: string, field: string, allowed: readonly string[]): ElbError {
  return constraintViolations([
    `Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
  ]);
}

function isHealthCheckProtocol(value: string): value is 'HTTP' | 'HTTPS' | 'TCP' {
  return (HEALTH_CHECK_PROTOCOLS as readonly string[]).includes(value);
}

function validateName(name: string | undefined): string {
  if (name === undefined || name === '') throw validationError('A target group name must be specified');
  if (name.length > 32) throw validationError(`Target group name '${name}' cannot be longer than '32' characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name)) {
    throw validationError(`Target group name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`);
  }
  if (name.startsWith('-') || name.endsWith('-')) throw validationError(`Target group name '${name}' cannot begin or end with '-'`);
  if (name.toLowerCase().startsWith('internal-')) throw validationError(`Target group name '${name}' cannot begin with 'internal-'`);
  return name;
}
