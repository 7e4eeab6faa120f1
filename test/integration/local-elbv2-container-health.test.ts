// The local endpoint's health checks driven by a real container: registered through the
// real SDK, the target goes initial -> healthy while the container serves, unhealthy
// while it is paused, healthy again, then draining after DeregisterTargets, then gone.
import { DeregisterTargetsCommand, DescribeTargetHealthCommand, ModifyTargetGroupAttributesCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startEcsContainer, type EcsContainer } from '../support/ecs-container.ts';
import { startLocalElbv2, type LocalElbv2 } from '../support/local-elbv2/index.ts';
import { createTestClient } from '../support/local-elbv2/test-client.ts';
import { waitFor } from '../support/wait.ts';

let elb: LocalElbv2;
let container: EcsContainer;

beforeAll(async () => {
  elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', healthCheckIntervalMs: 200, healthCheckTimeoutMs: 300 });
  container = await startEcsContainer(new Docker(), { runId: inject('testRunId'), family: 'health' });
});

afterAll(async () => {
  await container?.remove();
  await elb?.close();
});

describe('health checks against a real container', () => {
  it('initial -> healthy -> unhealthy (paused) -> healthy -> draining -> removed', async () => {
    const client = createTestClient(elb);
    const arn = await elb.createTargetGroup({ name: 'health', port: 80, healthCheckPath: '/', healthyThresholdCount: 2, unhealthyThresholdCount: 2 });
    await client.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '1' }] }));
    const target = { Id: '10.8.0.20', Port: container.hostPort(), AvailabilityZone: 'all' };
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target] }));

    const seen: string[] = [];
    const stateIs = async (want: string) => {
      const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
      const state = out.TargetHealthDescriptions?.[0]?.TargetHealth?.State ?? 'gone';
      if (seen.at(-1) !== state) seen.push(state);
      return state === want;
    };
    await waitFor(() => stateIs('healthy'), { description: 'healthy while serving', timeoutMs: 10_000 });
    await container.container.pause();
    await waitFor(() => stateIs('unhealthy'), { description: 'unhealthy while paused', timeoutMs: 10_000 });
    await container.container.unpause();
    await waitFor(() => stateIs('healthy'), { description: 'healthy again', timeoutMs: 10_000 });
    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [target] }));
    await waitFor(() => stateIs('draining'), { description: 'draining', timeoutMs: 5_000, intervalMs: 20 });
    await waitFor(() => elb.targets(arn).length === 0, { description: 'removed after the delay', timeoutMs: 5_000 });
    expect(seen).toEqual(['initial', 'healthy', 'unhealthy', 'healthy', 'draining']);
  });
});
