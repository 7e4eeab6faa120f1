/**
 * The target registry over ELBv2 (AWS SDK v3). Each call goes to the region its target
 * group ARN names; errors become OperationErrors that say whether retrying can help; an
 * expired-token error is retried once with freshly read credentials.
 */
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { OperationError, errorMessage, type ErrorKind } from '../errors.ts';
import type { ActualTarget, TargetRef } from '../reconcile/plan.ts';
import { regionOfArn, shortTargetGroup } from './arn.ts';
import type { RotatingCredentials } from './credentials.ts';
import type { TargetGroupInfo, TargetRegistry } from './target-registry.ts';

/** Called after every API call, for metrics. */
export type ApiObserver = (action: string, errorCode: string | undefined, durationMs: number) => void;

const EXPIRED_TOKEN_CODES = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'InvalidClientTokenId', 'UnrecognizedClientException']);
const TRANSIENT_CODES = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'InternalFailure', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'TimeoutError', 'EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'CredentialsProviderError']);

/** The AWS error code of anything the SDK throws. */
export function errorCodeOf(err: unknown): string {
  const e = err as { Code?: string; name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.Code ?? e?.code ?? e?.name ?? 'Error';
}

/** Whether an error may pass by itself (throttling, 5xx, network, credentials not there yet). */
export function kindOf(err: unknown): ErrorKind {
  const e = err as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const code = errorCodeOf(err);
  const status = e?.$metadata?.httpStatusCode;
  if (TRANSIENT_CODES.has(code) || EXPIRED_TOKEN_CODES.has(code) || e?.$retryable) return 'transient';
  if (status !== undefined && status >= 500) return 'transient';
  if (status === undefined && code !== 'ValidationError') return 'transient';
  return 'permanent';
}

export interface Elbv2RegistryOptions {
  readonly credentials: RotatingCredentials;
  /** SDK attempts per call (its own retries with backoff come first). */
  readonly maxAttempts?: number;
  readonly observe?: ApiObserver;
}

/** TargetRegistry backed by the AWS SDK's ELBv2 client. */
export class Elbv2Registry implements TargetRegistry {
  private readonly clients = new Map<string, ElasticLoadBalancingV2Client>();

  constructor(private readonly options: Elbv2RegistryOptions) {}

  private client(arn: string): ElasticLoadBalancingV2Client {
    const region = regionOfArn(arn);
    let client = this.clients.get(region);
    if (!client) {
      client = new ElasticLoadBalancingV2Client({
        region,
        credentials: this.options.credentials.provider,
        maxAttempts: this.options.maxAttempts ?? 3,
      });
      this.clients.set(region, client);
    }
    return client;
  }

  private async call<T>(action: string, arn: string, send: (client: ElasticLoadBalancingV2Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      try {
        const result = await send(this.client(arn));
        this.options.observe?.(action, undefined, performance.now() - started);
        return result;
      } catch (err) {
        const code = errorCodeOf(err);
        this.options.observe?.(action, code, performance.now() - started);
        if (attempt === 0 && EXPIRED_TOKEN_CODES.has(code)) {
          this.options.credentials.invalidate();
          continue;
        }
        throw new OperationError(action, shortTargetGroup(arn), code, kindOf(err), errorMessage(err), { cause: err });
      }
    }
  }

  async describeTargets(targetGroupArn: string): Promise<ActualTarget[]> {
    const out = await this.call('DescribeTargetHealth', targetGroupArn, (c) => c.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })));
    return (out.TargetHealthDescriptions ?? []).flatMap((d): ActualTarget[] => {
      const id = d.Target?.Id;
      const port = d.Target?.Port;
      if (id === undefined || port === undefined) return [];
      const az = d.Target?.AvailabilityZone;
      const reason = d.TargetHealth?.Reason;
      return [{ id, port, ...(az ? { availabilityZone: az } : {}), state: d.TargetHealth?.State ?? 'unknown', ...(reason ? { reason } : {}) }];
    });
  }

  async register(targetGroupArn: string, targets: readonly TargetRef[]): Promise<void> {
    await this.call('RegisterTargets', targetGroupArn, (c) => c.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: targets.map(toSdk) })));
  }

  async deregister(targetGroupArn: string, targets: readonly TargetRef[]): Promise<void> {
    await this.call('DeregisterTargets', targetGroupArn, (c) => c.send(new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: targets.map(toSdk) })));
  }

  async describeGroup(targetGroupArn: string): Promise<TargetGroupInfo> {
    const out = await this.call('DescribeTargetGroups', targetGroupArn, (c) => c.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [targetGroupArn] })));
    const g = out.TargetGroups?.[0];
    if (!g) throw new OperationError('DescribeTargetGroups', shortTargetGroup(targetGroupArn), 'TargetGroupNotFound', 'permanent', 'no such target group');
    return {
      arn: g.TargetGroupArn ?? targetGroupArn,
      name: g.TargetGroupName ?? '',
      targetType: g.TargetType ?? 'unknown',
      ...(g.Protocol ? { protocol: g.Protocol } : {}),
      ...(g.Port !== undefined ? { port: g.Port } : {}),
      ...(g.VpcId ? { vpcId: g.VpcId } : {}),
    };
  }
}

function toSdk(t: TargetRef): { Id: string; Port: number; AvailabilityZone?: string } {
  return { Id: t.id, Port: t.port, ...(t.availabilityZone !== undefined ? { AvailabilityZone: t.availabilityZone } : {}) };
}
