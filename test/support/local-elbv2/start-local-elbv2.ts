/**
 * The composition root of the local ELBv2 endpoint: builds the model, health monitor,
 * access policy, fault injector, throttles and request log, serves them over HTTP, and
 * hands back direct controls for tests (create groups, inspect targets, switch faults).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessPolicy } from './access-policy.ts';
import { AccountThrottle, ThrottleCounter, takeFromAll } from './account-throttle.ts';
import type { AccountThrottleSettings, ThrottleStats } from './account-throttle.ts';
import { Elbv2Model } from './elbv2-model.ts';
import type { TargetInput, TargetSnapshot } from './elbv2-model.ts';
import { FaultInjector } from './fault-injector.ts';
import type { FaultSettings, FaultUpdate } from './fault-injector.ts';
import { HealthMonitor } from './health-monitor.ts';
import { startListener } from './load-balancer-listener.ts';
import type { ListenerOptions, LoadBalancerListener } from './load-balancer-listener.ts';
import type { LoadBalancerSpec } from './load-balancers.ts';
import { createRequestListener } from './http-endpoint.ts';
import { handleControl, isControlRequest, type ControlTarget } from './control-api.ts';
import { parseCidr } from './ipv4-cidr.ts';
import { createEcsListener, isEcsRequest } from './ecs-endpoint.ts';
import { EcsModel } from './ecs-model.ts';
import type { Cidr } from './ipv4-cidr.ts';
import { RequestLog } from './request-log.ts';
import type { RequestLogEntry } from './request-log.ts';
import { DEREGISTRATION_DELAY_KEY } from './target-group-attributes.ts';
import { DEFAULT_VPC_ID } from './target-group-settings.ts';
import { TokenBucket } from './token-bucket.ts';
import type { ThrottleSettings } from './token-bucket.ts';

/** Defaults of `startLocalElbv2`, named so tests and the CLI can refer to them. */
export const LOCAL_ELBV2_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  region: 'us-east-1',
  accountId: '123456789012',
  vpcCidr: '10.0.0.0/16',
  maxTargetsPerGroup: 1000,
  deregistrationDelaySeconds: 300,
} as const;

/** Options of `startLocalElbv2`; every one has a default. */
export interface LocalElbv2Options {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly region?: string;
  readonly accountId?: string;
  /** CIDR of every VPC not listed in `vpcCidrs`. */
  readonly vpcCidr?: string;
  /** CIDR block(s) per VpcId. */
  readonly vpcCidrs?: Readonly<Record<string, string | readonly string[]>>;
  /** Send health checks here (with the target's port) instead of to the target's address. */
  readonly healthCheckAddress?: string;
  /**
   * Health checks and listeners connect from this local address: the load balancer's own
   * address in its VPC, so that targets reached over a routed VPN see (and answer) that address.
   */
  readonly sourceAddress?: string;
  /** Overrides every group's health check interval, in ms. */
  readonly healthCheckIntervalMs?: number;
  /** Overrides every group's health check timeout, in ms. */
  readonly healthCheckTimeoutMs?: number;
  readonly maxTargetsPerGroup?: number;
  /** `deregistration_delay.timeout_seconds` of new target groups (AWS: 300). */
  readonly deregistrationDelaySeconds?: number;
  /** One token bucket for every action, shared by all callers; absent = none. */
  readonly throttle?: ThrottleSettings;
  /**
   * ELBv2-style buckets per API class (`describe`: Describe*, `change`: RegisterTargets and
   * DeregisterTargets, `other`: the rest), shared by all callers; an absent class is not
   * throttled. With `throttle` too, a request must pass both (see account-throttle.ts).
   */
  readonly accountThrottle?: AccountThrottleSettings;
  /** Target groups callers may change (stand-in for IAM); absent = all. */
  readonly allowedTargetGroupArns?: readonly string[];
  /** Access keys still valid; others get ExpiredToken. Absent = all. */
  readonly acceptedAccessKeyIds?: readonly string[];
  /** Faults in force from the start. */
  readonly faults?: FaultUpdate;
  /** The account's ECS bucket (every ECS action), absent = none. */
  readonly ecsThrottle?: ThrottleSettings;
  /**
   * The throttle buckets' clock (ms), default Date.now: a test that must know exactly when a
   * token comes back moves a clock of its own instead of hoping the machine is fast enough.
   */
  readonly throttleClock?: () => number;
}

/** A target group for the direct helper; like CreateTargetGroup with handy defaults (HTTP, port 80, ip). */
export interface TargetGroupSpec {
  readonly name: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly vpcId?: string;
  readonly targetType?: 'ip' | 'instance';
  readonly healthCheckProtocol?: string;
  readonly healthCheckPort?: string;
  readonly healthCheckPath?: string;
  readonly healthCheckIntervalSeconds?: number;
  readonly healthCheckTimeoutSeconds?: number;
  readonly healthyThresholdCount?: number;
  readonly unhealthyThresholdCount?: number;
  readonly matcher?: string;
  readonly deregistrationDelaySeconds?: number;
}

/** A running local ELBv2 endpoint. */
export interface LocalElbv2 {
  /** Base URL for the SDK's `endpoint` (or AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2). */
  readonly url: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** Every request so far, oldest first (a live array; see clearRequestLog). */
  readonly requestLog: readonly RequestLogEntry[];
  /** Creates (or finds, when identical) a target group without going through HTTP; returns its ARN. */
  createTargetGroup(spec: TargetGroupSpec): Promise<string>;
  /** Targets a group holds now, draining ones included. */
  targets(targetGroupArn: string): TargetSnapshot[];
  /** Registers targets directly, as if another host had done it (same rules, no log, no throttle). */
  registerForeign(targetGroupArn: string, targets: readonly TargetInput[]): void;
  /** Empties the request log and zeroes throttleStats. */
  clearRequestLog(): void;
  /** Calls `listener` for every future request log entry. */
  onRequest(listener: (entry: RequestLogEntry) => void): void;
  setFaults(update: FaultUpdate): void;
  clearFaults(): void;
  faults(): FaultSettings;
  /** Replaces the bucket for every action (a full one); undefined removes it. */
  setThrottle(settings: ThrottleSettings | undefined): void;
  /** Replaces the per-class buckets (full ones); undefined removes them all. */
  setAccountThrottle(settings: AccountThrottleSettings | undefined): void;
  /**
   * Per API class, the requests let through the throttle step and those answered `Throttling`
   * (buckets or an injected throttling storm), since start or the last clearRequestLog.
   * Requests refused before it (faults, credentials) are in neither count.
   */
  throttleStats(): ThrottleStats;
  setAllowedTargetGroups(arns: readonly string[] | undefined): void;
  setAcceptedAccessKeyIds(ids: readonly string[] | undefined): void;
  /**
   * Starts an HTTP listener that forwards to the group's targets with ALB's routing (see
   * load-balancer-listener.ts). `forwardAddress` defaults to `healthCheckAddress`, so traffic
   * reaches the same place the health checks do. Closed by `close()` too.
   */
  createListener(options: ListenerOptions): Promise<LoadBalancerListener>;
  /** Creates a load balancer (zones, groups, cross-zone setting: see load-balancers.ts) that DescribeLoadBalancers and DescribeTargetGroups show; returns its ARN. */
  createLoadBalancer(spec: LoadBalancerSpec): string;
  /** The local ECS (clusters, container instances, tasks), served on the same port (ecs-endpoint.ts). */
  readonly ecs: EcsModel;
  /** Stops serving, cancels health checks and timers, closes listeners; open connections are closed. */
  close(): Promise<void>;
}

/** Starts a local ELBv2 endpoint speaking the AWS query protocol on `host:port`. */
export async function startLocalElbv2(options: LocalElbv2Options = {}): Promise<LocalElbv2> {
  const region = options.region ?? LOCAL_ELBV2_DEFAULTS.region;
  const accountId = options.accountId ?? LOCAL_ELBV2_DEFAULTS.accountId;
  const defaultCidrs = [parseCidr(options.vpcCidr ?? LOCAL_ELBV2_DEFAULTS.vpcCidr)];
  const cidrsByVpc = new Map<string, Cidr[]>(
    Object.entries(options.vpcCidrs ?? {}).map(([vpcId, cidrs]) => [vpcId, (typeof cidrs === 'string' ? [cidrs] : cidrs).map(parseCidr)]),
  );
  const model = new Elbv2Model({
    region,
    accountId,
    vpcCidrs: (vpcId) => cidrsByVpc.get(vpcId) ?? defaultCidrs,
    maxTargetsPerGroup: options.maxTargetsPerGroup ?? LOCAL_ELBV2_DEFAULTS.maxTargetsPerGroup,
    defaultDeregistrationDelaySeconds: options.deregistrationDelaySeconds ?? LOCAL_ELBV2_DEFAULTS.deregistrationDelaySeconds,
    ...(options.healthCheckIntervalMs !== undefined ? { healthCheckIntervalMs: options.healthCheckIntervalMs } : {}),
    ...(options.healthCheckTimeoutMs !== undefined ? { healthCheckTimeoutMs: options.healthCheckTimeoutMs } : {}),
  });
  const monitor = new HealthMonitor(model, {
    tickMs: healthTickMs(options.healthCheckIntervalMs),
    ...(options.healthCheckAddress !== undefined ? { healthCheckAddress: options.healthCheckAddress } : {}),
    ...(options.sourceAddress !== undefined ? { sourceAddress: options.sourceAddress } : {}),
  });
  const policy = new AccessPolicy(accountId, options.acceptedAccessKeyIds, options.allowedTargetGroupArns);
  const faults = new FaultInjector();
  if (options.faults) faults.set(options.faults);
  const clock = options.throttleClock ?? Date.now;
  let bucket = options.throttle ? new TokenBucket(options.throttle, clock) : undefined;
  let accountThrottle = options.accountThrottle ? new AccountThrottle(options.accountThrottle, clock) : undefined;
  const throttleCounter = new ThrottleCounter();
  const admit = (action: string): boolean => takeFromAll([bucket, accountThrottle?.bucketFor(action)]);
  const log = new RequestLog();
  const closing = new AbortController();

  const api = createRequestListener({ model, faults, policy, admit, throttleCounter, log, closing: closing.signal });
  const ecs = new EcsModel(region, accountId);
  const ecsBucket = options.ecsThrottle ? new TokenBucket(options.ecsThrottle, clock) : undefined;
  const ecsApi = createEcsListener({ model: ecs, log, bucket: () => ecsBucket });
  const control: ControlTarget = {
    faults: () => faults.current(),
    setFaults: (update) => faults.set(update),
    clearFaults: () => faults.clear(),
    setAccountThrottle: (settings) => {
      accountThrottle = settings ? new AccountThrottle(settings, clock) : undefined;
    },
    setAgentConnected: (cluster, instance, connected) => ecs.setAgentConnected(cluster, instance, connected),
  };
  const server = createServer((req, res) => (isControlRequest(req) ? void handleControl(control, req, res) : isEcsRequest(req) ? ecsApi(req, res) : api(req, res)));
  // Match AWS endpoints: keep idle connections for a while so SDK keep-alive is exercised.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? LOCAL_ELBV2_DEFAULTS.port, options.host ?? LOCAL_ELBV2_DEFAULTS.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  monitor.start();
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  const listeners = new Set<LoadBalancerListener>();

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    region,
    accountId,
    ecs,
    requestLog: log.entries,
    createTargetGroup(spec) {
      try {
        const group = model.createTargetGroup({
          protocol: 'HTTP',
          port: 80,
          vpcId: DEFAULT_VPC_ID,
          targetType: 'ip',
          ...spec,
          ...(spec.matcher !== undefined ? { matcherHttpCode: spec.matcher } : {}),
        });
        if (spec.deregistrationDelaySeconds !== undefined) {
          model.modifyAttributes(group.arn, [[DEREGISTRATION_DELAY_KEY, String(spec.deregistrationDelaySeconds)]]);
        }
        return Promise.resolve(group.arn);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    targets: (arn) => model.snapshot(arn),
    registerForeign: (arn, targets) => model.registerTargets(arn, targets),
    clearRequestLog() {
      log.clear();
      throttleCounter.reset();
    },
    onRequest: (listener) => log.onEntry(listener),
    setFaults: control.setFaults,
    clearFaults: control.clearFaults,
    faults: control.faults,
    setThrottle(settings) {
      bucket = settings ? new TokenBucket(settings, clock) : undefined;
    },
    setAccountThrottle: control.setAccountThrottle,
    throttleStats: () => throttleCounter.stats(),
    setAllowedTargetGroups: (arns) => policy.setAllowedTargetGroups(arns),
    setAcceptedAccessKeyIds: (ids) => policy.setAcceptedAccessKeyIds(ids),
    createLoadBalancer: (spec) => model.loadBalancers.create(spec),
    async createListener(listenerOptions) {
      if (closed) throw new Error('local-elbv2: closed');
      if (!model.has(listenerOptions.targetGroupArn)) throw new Error(`local-elbv2: no target group ${listenerOptions.targetGroupArn}`);
      const forwardAddress = listenerOptions.forwardAddress ?? options.healthCheckAddress;
      const sourceAddress = listenerOptions.sourceAddress ?? options.sourceAddress;
      const listener = await startListener(model, {
        ...listenerOptions,
        ...(forwardAddress !== undefined ? { forwardAddress } : {}),
        ...(sourceAddress !== undefined ? { sourceAddress } : {}),
      });
      listeners.add(listener);
      const close = listener.close.bind(listener);
      return Object.assign(listener, {
        close: () => {
          listeners.delete(listener);
          return close();
        },
      });
    },
    close() {
      closed ??= (async () => {
        await Promise.all([...listeners].map((listener) => listener.close()));
        closing.abort();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.all([stopped, monitor.stop()]);
      })();
      return closed;
    },
  };
}

/** How often the monitor looks for due checks: a fraction of the interval, within 5-250 ms. */
function healthTickMs(intervalMs: number | undefined): number {
  if (intervalMs === undefined) return 250;
  return Math.min(250, Math.max(5, Math.floor(intervalMs / 4)));
}
