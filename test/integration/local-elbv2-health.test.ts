// Target health on the local ELBv2 endpoint, driven by real HTTP health checks against
// node:http servers on 127.0.0.1 (the endpoint's healthCheckAddress), read back through
// the real SDK: initial -> healthy -> unhealthy -> healthy, failure reasons, draining.
import {
  CreateTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CreateTargetGroupCommandInput, ElasticLoadBalancingV2Client, TargetDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHealthTarget } from '../support/local-elbv2/health-target-server.ts';
import type { HealthTargetServer } from '../support/local-elbv2/health-target-server.ts';
import { startLocalElbv2 } from '../support/local-elbv2/index.ts';
import type { LocalElbv2 } from '../support/local-elbv2/index.ts';
import { createTestClient } from '../support/local-elbv2/test-client.ts';
import { sleep, waitFor } from '../support/wait.ts';

const HOST_IP = '192.168.10.20'; // the "host" address registered; checks really go to 127.0.0.1
const INTERVAL_MS = 100;

let elb: LocalElbv2;
let client: ElasticLoadBalancingV2Client;
const servers: HealthTargetServer[] = [];
let groupCounter = 0;

beforeAll(async () => {
  elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', healthCheckIntervalMs: INTERVAL_MS, healthCheckTimeoutMs: 200 });
  client = createTestClient(elb, { maxAttempts: 1 });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(async () => {
  client?.destroy();
  await elb?.close();
});

async function healthTarget(): Promise<HealthTargetServer> {
  const server = await startHealthTarget();
  servers.push(server);
  return server;
}

async function newGroup(extra: Partial<CreateTargetGroupCommandInput> = {}): Promise<string> {
  groupCounter += 1;
  const out = await client.send(
    new CreateTargetGroupCommand({
      Name: `health-tg-${groupCounter}`,
      Protocol: 'HTTP',
      Port: 80,
      VpcId: 'vpc-0123456789abcdef0',
      TargetType: 'ip',
      HealthCheckPath: '/health',
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      ...extra,
    }),
  );
  return out.TargetGroups?.[0]?.TargetGroupArn ?? '';
}

function target(port: number): TargetDescription {
  return { Id: HOST_IP, Port: port, AvailabilityZone: 'all' };
}

async function healthOf(arn: string, port: number) {
  const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: HOST_IP, Port: port }] }));
  return out.TargetHealthDescriptions?.[0]?.TargetHealth ?? {};
}

async function waitForState(arn: string, port: number, state: string, reason?: string) {
  return waitFor(
    async () => {
      const health = await healthOf(arn, port);
      return health.State === state && (reason === undefined || health.Reason === reason) ? health : undefined;
    },
    { description: `${HOST_IP}:${port} ${state}${reason ? ` (${reason})` : ''}`, timeoutMs: 5_000, intervalMs: 25 },
  );
}

describe('health checks', () => {
  it('moves a target from initial to healthy on real checks, to unhealthy when the server stops, and back', async () => {
    const server = await healthTarget();
    const arn = await newGroup();
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target(server.port)] }));
    expect(await healthOf(arn, server.port)).toMatchObject({ State: 'initial', Reason: 'Elb.RegistrationInProgress' });

    await waitForState(arn, server.port, 'healthy');
    expect(server.requests[0]).toEqual({ path: '/health', userAgent: 'ELB-HealthChecker/2.0' });

    const port = server.port;
    await server.close();
    const unhealthy = await waitForState(arn, port, 'unhealthy');
    expect(unhealthy).toMatchObject({ Reason: 'Target.FailedHealthChecks', Description: 'Health checks failed' });

    const revived = await startHealthTarget(port);
    servers.push(revived);
    await waitForState(arn, port, 'healthy');
  });

  it('reports Target.ResponseCodeMismatch with the codes seen, and honours the Matcher', async () => {
    const server = await healthTarget();
    server.setStatus(500);
    const strict = await newGroup();
    const lenient = await newGroup({ Matcher: { HttpCode: '200-399' } });
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: strict, Targets: [target(server.port)] }));
    const mismatch = await waitForState(strict, server.port, 'unhealthy', 'Target.ResponseCodeMismatch');
    expect(mismatch.Description).toBe('Health checks failed with these codes: [500]');

    server.setStatus(302);
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: lenient, Targets: [target(server.port)] }));
    await waitForState(lenient, server.port, 'healthy');
    // The default matcher (200) still refuses the redirect.
    expect(await waitForState(strict, server.port, 'unhealthy')).toMatchObject({ Description: 'Health checks failed with these codes: [302]' });
  });

  it('reports Target.Timeout when the target accepts but never answers', async () => {
    const server = await healthTarget();
    server.setHanging(true);
    const arn = await newGroup();
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target(server.port)] }));
    const timedOut = await waitForState(arn, server.port, 'unhealthy', 'Target.Timeout');
    expect(timedOut.Description).toBe('Request timed out');
  });

  it('checks each (Id, Port) on its own port: same IP, one port up and one down', async () => {
    const up = await healthTarget();
    const down = await healthTarget();
    const downPort = down.port;
    await down.close();
    const arn = await newGroup();
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target(up.port), target(downPort)] }));
    await waitForState(arn, up.port, 'healthy');
    await waitForState(arn, downPort, 'unhealthy', 'Target.FailedHealthChecks');
    expect(elb.targets(arn).map((t) => [t.port, t.state])).toEqual([
      [up.port, 'healthy'],
      [downPort, 'unhealthy'],
    ]);
  });
});

describe('draining', () => {
  it('drains a deregistered target for the deregistration delay, then removes it and stops checking it', async () => {
    const server = await healthTarget();
    const arn = await elb.createTargetGroup({ name: 'drain-1s', healthCheckPath: '/health', deregistrationDelaySeconds: 1 });
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target(server.port)] }));
    await waitForState(arn, server.port, 'healthy');

    const deregisteredAt = Date.now();
    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: HOST_IP, Port: server.port }] }));
    expect(await healthOf(arn, server.port)).toMatchObject({
      State: 'draining',
      Reason: 'Target.DeregistrationInProgress',
      Description: 'Target deregistration is in progress',
    });
    const checksAtDeregistration = server.requests.length;

    await waitFor(
      async () => {
        const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
        return out.TargetHealthDescriptions?.length === 0;
      },
      { description: 'target removed after the deregistration delay', timeoutMs: 3_000, intervalMs: 50 },
    );
    const drainedForMs = Date.now() - deregisteredAt;
    expect(drainedForMs).toBeGreaterThanOrEqual(1_000);
    expect(drainedForMs).toBeLessThan(2_000);
    expect(await healthOf(arn, server.port)).toMatchObject({ State: 'unused', Reason: 'Target.NotRegistered' });

    // At most one check was already in flight when draining began; none after that.
    await sleep(INTERVAL_MS * 3);
    expect(server.requests.length).toBeLessThanOrEqual(checksAtDeregistration + 1);
  });

  it('removes a target at once when the deregistration delay is 0', async () => {
    const arn = await elb.createTargetGroup({ name: 'drain-0s', deregistrationDelaySeconds: 0 });
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target(40_000)] }));
    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [target(40_000)] }));
    expect(elb.targets(arn)).toEqual([]);
  });
});

describe('close()', () => {
  it('stops health checking when the endpoint closes', async () => {
    const own = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', healthCheckIntervalMs: 20 });
    const server = await healthTarget();
    const arn = await own.createTargetGroup({ name: 'closing' });
    own.registerForeign(arn, [{ id: HOST_IP, port: server.port, availabilityZone: 'all' }]);
    await waitFor(() => own.targets(arn)[0]?.state === 'healthy', { description: 'healthy before close', timeoutMs: 2_000, intervalMs: 10 });
    await own.close();
    const checks = server.requests.length;
    await sleep(100);
    expect(server.requests.length).toBe(checks);
  });
});
