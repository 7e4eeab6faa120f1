/**
 * The target registry over ELBv2 (AWS SDK v3). Each call goes to the region its target
 * group ARN names; errors become OperationErrors that say whether retrying can help; an
 * expired-token error is retried once, when the credentials source has newer credentials.
 * Every HTTP request is reported to the observer, so metrics count what AWS actually sees.
 * The SDK makes one attempt per call by default: retries (and their pace, which a fleet
 * shares) belong to the core's pacing and per-group backoff, not to a second loop in here.
 */
import {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { OperationError, errorMessage } from '../errors.ts';
import { EXPIRED_TOKEN_CODES, errorCodeOf, isReachable, kindOf } from '../aws-errors.ts';

export { errorCodeOf, isReachable, kindOf };
import type { ActualTarget, TargetRef } from '../core/target-registry.ts';
import { regionOfArn, shortTargetGroup } from '../core/arn.ts';
import type { RotatingCredentials } from './credentials.ts';
import type { LoadBalancerZones, TargetGroupInfo, TargetRegistry } from '../core/target-registry.ts';
import { NO_TRACE, type Tracer } from '../trace.ts';

/**
 * Called after every HTTP request to the API. `reachable` is false when the request got no
 * usable answer (network failure, timeout, 5xx, throttling, rejected credentials).
 */
export type ApiObserver = (action: string, errorCode: string | undefined, durationMs: number, reachable: boolean) => void;

/** Timeouts of one HTTP request: a black-holed endpoint must not hold the reconcile loop for long (ELBv2 answers in well under a second). */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The access key id a signed request carries (`Credential=AKID/date/region/service/aws4_request`). */
function signingKeyOf(request: unknown): string | undefined {
  const headers = (request as { headers?: Record<string, string> })?.headers ?? {};
  const auth = headers.authorization ?? headers.Authorization;
  return auth ? /Credential=([^/,\s]+)\//.exec(auth)?.[1] : undefined;
}

export interface Elbv2RegistryOptions {
  readonly credentials: RotatingCredentials;
  /** Endpoint override (tests); otherwise the SDK's own resolution, AWS_ENDPOINT_URL_* included. */
  readonly endpoint?: string;
  /** SDK attempts per call (default 1: the core retries at the fleet's pace). */
  readonly maxAttempts?: number;
  readonly observe?: ApiObserver;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /**
   * At most this many regions (one SDK client each) are ever called; a group of another region
   * fails, permanently, naming them. Set with --allow-any-target-group, where containers' labels
   * name the groups: a few regions are real, a label per region is a task author filling memory.
   */
  readonly maxRegions?: number;
  /** Marks when each request leaves (bench --profile). */
  readonly tracer?: Tracer;
}

/** --allow-any-target-group's bound on regions: a handful. */
export const MAX_REGIONS_ANY_GROUP = 4;

/** TargetRegistry backed by the AWS SDK's ELBv2 client. */
export class Elbv2Registry implements TargetRegistry {
  private readonly clients = new Map<string, ElasticLoadBalancingV2Client>();
  /** The access key a failed request was signed with, to tell whether a retry can help. */
  private readonly signedWith = new WeakMap<object, string>();

  constructor(private readonly options: Elbv2RegistryOptions) {}

  private client(arn: string, action: string): ElasticLoadBalancingV2Client {
    const region = regionOfArn(arn);
    let client = this.clients.get(region);
    if (!client && this.options.maxRegions !== undefined && this.clients.size >= this.options.maxRegions) {
      throw new OperationError(action, shortTargetGroup(arn), 'TooManyRegions', 'permanent',
        `this agent calls at most ${this.options.maxRegions} regions with --allow-any-target-group (${[...this.clients.keys()].join(', ')}); ${region} is one more: list the groups with --allowed-target-groups`);
    }
    if (!client) {
      client = new ElasticLoadBalancingV2Client({
        region,
        ...(this.options.endpoint !== undefined ? { endpoint: this.options.endpoint } : {}),
        credentials: this.options.credentials.provider,
        maxAttempts: this.options.maxAttempts ?? 1,
        requestHandler: {
          connectionTimeout: this.options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
          requestTimeout: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
          throwOnRequestTimeout: true,
        },
      });
      this.instrument(client);
      this.clients.set(region, client);
    }
    return client;
  }

  /**
   * Runs inside the SDK's retry loop and after signing, around each HTTP request: observe. (Step `deserialize`, priority high: outside the deserializer, so
   * errors arrive parsed, with their AWS codes.)
   */
  private instrument(client: ElasticLoadBalancingV2Client): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        const started = performance.now();
        (this.options.tracer ?? NO_TRACE).step('send', action);
        try {
          const out = await next(args);
          this.options.observe?.(action, undefined, performance.now() - started, true);
          return out;
        } catch (err) {
          const key = signingKeyOf(args.request);
          if (key !== undefined && typeof err === 'object' && err !== null) this.signedWith.set(err, key);
          this.options.observe?.(action, errorCodeOf(err), performance.now() - started, isReachable(err));
          throw err;
        }
      },
      { step: 'deserialize', priority: 'high', name: 'ecsAnywhereLbRequestObserver' },
    );
  }

  private async call<T>(action: string, arn: string, send: (client: ElasticLoadBalancingV2Client) => Promise<T>): Promise<T> {
    // Outside the try: a region beyond the bound is this agent's own refusal, already the OperationError to throw.
    const client = this.client(arn, action);
    for (let attempt = 0; ; attempt++) {
      try {
        return await send(client);
      } catch (err) {
        const code = errorCodeOf(err);
        if (attempt === 0 && EXPIRED_TOKEN_CODES.has(code) && (await this.haveNewerCredentials(err))) continue;
        throw new OperationError(action, shortTargetGroup(arn), code, kindOf(err), errorMessage(err), { cause: err });
      }
    }
  }

  /**
   * After an expired-token error: re-reads the credentials source and says whether it now
   * holds other credentials than the ones the request was signed with. When it does not
   * (the old key expired before the new file arrived), retrying at once would fail the same
   * way; the caller's backoff retries later instead.
   */
  private async haveNewerCredentials(err: unknown): Promise<boolean> {
    const used = typeof err === 'object' && err !== null ? this.signedWith.get(err) : undefined;
    this.options.credentials.invalidate();
    try {
      const fresh = await this.options.credentials.provider();
      return used === undefined || fresh.accessKeyId !== used;
    } catch {
      return false;
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

  /** Holds the prepared request for `sendAfter`: see TargetRegistry. */
  readonly sendsAfter = true;

  async register(targetGroupArn: string, targets: readonly TargetRef[], sendAfter?: Promise<void>): Promise<void> {
    const command = new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: targets.map(toSdk) });
    let refused: { reason: unknown } | undefined;
    if (sendAfter) {
      // Its rejection is this call's outcome, whenever the SDK gets to it.
      sendAfter.catch(() => undefined);
      // Last of finalizeRequest: after serialising and signing, before the request observer and the HTTP handler.
      command.middlewareStack.add(
        (next) => async (args) => {
          try {
            await sendAfter;
          } catch (reason) {
            refused = { reason };
            throw reason;
          }
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low', name: 'ecsAnywhereLbSendAfter' },
      );
    }
    try {
      await this.call('RegisterTargets', targetGroupArn, (c) => c.send(command));
    } catch (err) {
      throw refused ? refused.reason : err;
    }
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
      ...(g.HealthCheckIntervalSeconds !== undefined ? { healthCheckIntervalSeconds: g.HealthCheckIntervalSeconds } : {}),
      ...(g.HealthyThresholdCount !== undefined ? { healthyThresholdCount: g.HealthyThresholdCount } : {}),
      ...(g.LoadBalancerArns && g.LoadBalancerArns.length > 0 ? { loadBalancerArns: g.LoadBalancerArns } : {}),
    };
  }

  async loadBalancerZones(loadBalancerArns: readonly string[]): Promise<LoadBalancerZones[]> {
    const first = loadBalancerArns[0];
    if (first === undefined) return [];
    const out = await this.call('DescribeLoadBalancers', first, (c) => c.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [...loadBalancerArns] })));
    return (out.LoadBalancers ?? []).map((lb) => ({ arn: lb.LoadBalancerArn ?? '', zones: (lb.AvailabilityZones ?? []).flatMap((z) => (z.ZoneName ? [z.ZoneName] : [])) }));
  }
}

function toSdk(t: TargetRef): { Id: string; Port: number; AvailabilityZone?: string } {
  return { Id: t.id, Port: t.port, ...(t.availabilityZone !== undefined ? { AvailabilityZone: t.availabilityZone } : {}) };
}
