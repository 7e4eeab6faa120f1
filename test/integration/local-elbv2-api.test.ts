// The local ELBv2 endpoint through the real AWS SDK: every action, the (Id, Port) keying,
// the address and Availability Zone rules, paging, and the error codes the SDK surfaces.
import {
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  DuplicateTargetGroupNameException,
  InvalidTargetException,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
  TargetGroupNotFoundException,
  TooManyTargetsException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { TargetDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalElbv2 } from '../support/local-elbv2/index.ts';
import type { LocalElbv2 } from '../support/local-elbv2/index.ts';
import { TEST_ACCESS_KEY_ID, createTestClient } from '../support/local-elbv2/test-client.ts';

const VPC_ID = 'vpc-0123456789abcdef0';
const OFF_VPC_IP = '192.168.50.10'; // RFC 1918, outside the default VPC CIDR 10.0.0.0/16
const IN_VPC_IP = '10.0.3.7';

let elb: LocalElbv2;
let client: ElasticLoadBalancingV2Client;
let groupCounter = 0;

beforeAll(async () => {
  // Health checks would target 127.0.0.1:<port> where nothing listens; harmless here.
  elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', maxTargetsPerGroup: 5 });
  client = createTestClient(elb, { maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await elb?.close();
});

/** A fresh `ip` target group per test, created through the API. */
async function newGroup(port = 8080): Promise<string> {
  groupCounter += 1;
  const out = await client.send(
    new CreateTargetGroupCommand({ Name: `api-tg-${groupCounter}`, Protocol: 'HTTP', Port: port, VpcId: VPC_ID, TargetType: 'ip' }),
  );
  const arn = out.TargetGroups?.[0]?.TargetGroupArn;
  if (!arn) throw new Error('CreateTargetGroup returned no ARN');
  return arn;
}

async function healthOf(arn: string, targets?: TargetDescription[]) {
  const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn, ...(targets ? { Targets: targets } : {}) }));
  return (out.TargetHealthDescriptions ?? []).map((d) => ({
    id: d.Target?.Id,
    port: d.Target?.Port,
    az: d.Target?.AvailabilityZone,
    state: d.TargetHealth?.State,
    reason: d.TargetHealth?.Reason,
  }));
}

/** Runs `call`, expecting an SDK error; returns it for assertions. */
async function sdkError(call: Promise<unknown>): Promise<Error & { Code?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (error) {
    return error as Error & { Code?: string };
  }
  throw new Error('expected the call to fail');
}

describe('CreateTargetGroup / DescribeTargetGroups', () => {
  it('creates an ip target group with AWS defaults and an ARN of the AWS shape', async () => {
    const out = await client.send(
      new CreateTargetGroupCommand({
        Name: 'web-defaults',
        Protocol: 'HTTP',
        Port: 80,
        VpcId: VPC_ID,
        TargetType: 'ip',
        HealthCheckPath: '/healthz',
      }),
    );
    const group = out.TargetGroups?.[0];
    expect(group?.TargetGroupArn).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/web-defaults\/[0-9a-f]{16}$/);
    expect(group).toMatchObject({
      TargetGroupName: 'web-defaults',
      Protocol: 'HTTP',
      Port: 80,
      VpcId: VPC_ID,
      TargetType: 'ip',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: 'traffic-port',
      HealthCheckEnabled: true,
      HealthCheckPath: '/healthz',
      HealthCheckIntervalSeconds: 30,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 5,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: '200' },
      LoadBalancerArns: [],
      ProtocolVersion: 'HTTP1',
    });
  });

  it('returns the existing group for the same name and settings, refuses different settings', async () => {
    const input = { Name: 'idempotent', Protocol: 'HTTP' as const, Port: 81, VpcId: VPC_ID, TargetType: 'ip' as const };
    const first = await client.send(new CreateTargetGroupCommand(input));
    const again = await client.send(new CreateTargetGroupCommand(input));
    expect(again.TargetGroups?.[0]?.TargetGroupArn).toBe(first.TargetGroups?.[0]?.TargetGroupArn);

    const error = await sdkError(client.send(new CreateTargetGroupCommand({ ...input, Port: 82 })));
    expect(error).toBeInstanceOf(DuplicateTargetGroupNameException);
    expect(error.message).toBe("A target group with the same name 'idempotent' exists, but with different settings");
  });

  it('describes by ARN and by name; unknown ones are TargetGroupNotFound', async () => {
    const arn = await newGroup();
    const name = arn.split('/')[1];
    const byArn = await client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }));
    expect(byArn.TargetGroups?.map((g) => g.TargetGroupArn)).toEqual([arn]);
    const byName = await client.send(new DescribeTargetGroupsCommand({ Names: [name ?? ''] }));
    expect(byName.TargetGroups?.map((g) => g.TargetGroupArn)).toEqual([arn]);

    const unknownArn = arn.replace(/[0-9a-f]{16}$/, 'ffffffffffffffff');
    const notFound = await sdkError(client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [unknownArn] })));
    expect(notFound).toBeInstanceOf(TargetGroupNotFoundException);
    expect(notFound.name).toBe('TargetGroupNotFoundException');
    expect(notFound.message).toBe(`Target groups '${unknownArn}' not found`);
    expect(notFound.$metadata?.httpStatusCode).toBe(400);

    const noName = await sdkError(client.send(new DescribeTargetGroupsCommand({ Names: ['no-such-group'] })));
    expect(noName).toBeInstanceOf(TargetGroupNotFoundException);
    expect(noName.message).toBe('One or more target groups not found');
  });

  it('pages with PageSize and Marker until NextMarker is absent', async () => {
    const paged = await startLocalElbv2();
    const pagedClient = createTestClient(paged, { maxAttempts: 1 });
    try {
      const created: string[] = [];
      for (let i = 0; i < 7; i++) created.push(await paged.createTargetGroup({ name: `page-${i}` }));
      const seen: string[] = [];
      let marker: string | undefined;
      let pages = 0;
      do {
        const out = await pagedClient.send(new DescribeTargetGroupsCommand({ PageSize: 3, ...(marker ? { Marker: marker } : {}) }));
        pages += 1;
        expect(out.TargetGroups?.length).toBeLessThanOrEqual(3);
        seen.push(...(out.TargetGroups ?? []).map((g) => g.TargetGroupArn ?? ''));
        marker = out.NextMarker;
      } while (marker);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(created.sort());

      const badMarker = await sdkError(pagedClient.send(new DescribeTargetGroupsCommand({ Marker: 'not-a-marker' })));
      expect(badMarker.name).toBe('ValidationError');
    } finally {
      pagedClient.destroy();
      await paged.close();
    }
  });

  it('refuses bad CreateTargetGroup input with ValidationError messages like AWS', async () => {
    const tooLong = await sdkError(
      client.send(new CreateTargetGroupCommand({ Name: 'x'.repeat(33), Protocol: 'HTTP', Port: 80, VpcId: VPC_ID, TargetType: 'ip' })),
    );
    expect(tooLong.name).toBe('ValidationError');
    expect(tooLong.message).toBe(`Target group name '${'x'.repeat(33)}' cannot be longer than '32' characters`);

    const badPort = await sdkError(
      client.send(new CreateTargetGroupCommand({ Name: 'bad-port', Protocol: 'HTTP', Port: 70000, VpcId: VPC_ID, TargetType: 'ip' })),
    );
    expect(badPort.name).toBe('ValidationError');
    expect(badPort.message).toBe(
      "1 validation error detected: Value '70000' at 'port' failed to satisfy constraint: Member must have value less than or equal to 65535",
    );
    expect((badPort as { Code?: string }).Code).toBe('ValidationError');

    const badTimeout = await sdkError(
      client.send(
        new CreateTargetGroupCommand({
          Name: 'bad-timeout',
          Protocol: 'HTTP',
          Port: 80,
          VpcId: VPC_ID,
          TargetType: 'ip',
          HealthCheckIntervalSeconds: 10,
          HealthCheckTimeoutSeconds: 10,
        }),
      ),
    );
    expect(badTimeout.message).toBe("Health check timeout '10' must be smaller than the interval '10'");
  });
});

describe('Target group attributes', () => {
  it('describes the defaults and modifies the deregistration delay within 0-3600', async () => {
    const arn = await newGroup();
    const before = await client.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
    const asMap = (attrs: Array<{ Key?: string; Value?: string }> | undefined) => new Map(attrs?.map((a) => [a.Key, a.Value]));
    expect(asMap(before.Attributes).get('deregistration_delay.timeout_seconds')).toBe('300');

    const modified = await client.send(
      new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] }),
    );
    expect(asMap(modified.Attributes).get('deregistration_delay.timeout_seconds')).toBe('30');
    const after = await client.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
    expect(asMap(after.Attributes).get('deregistration_delay.timeout_seconds')).toBe('30');

    for (const value of ['3601', '-1', 'soon']) {
      const error = await sdkError(
        client.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: value }] })),
      );
      expect(error.name).toBe('ValidationError');
      expect(error.message).toContain('between 0 and 3600');
    }
    const unknownKey = await sdkError(
      client.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'no.such.key', Value: '1' }] })),
    );
    expect(unknownKey.message).toBe("Target group attribute key 'no.such.key' is not recognized");
    const final = await client.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
    expect(asMap(final.Attributes).get('deregistration_delay.timeout_seconds')).toBe('30');
  });
});

describe('RegisterTargets / DeregisterTargets / DescribeTargetHealth', () => {
  it('keys targets by (Id, Port): one IP on two ports is two targets; Port defaults to the group port', async () => {
    const arn = await newGroup(8080);
    await client.send(
      new RegisterTargetsCommand({
        TargetGroupArn: arn,
        Targets: [
          { Id: OFF_VPC_IP, Port: 32768, AvailabilityZone: 'all' },
          { Id: OFF_VPC_IP, Port: 32769, AvailabilityZone: 'all' },
          { Id: OFF_VPC_IP, AvailabilityZone: 'all' },
        ],
      }),
    );
    const health = await healthOf(arn);
    expect(health.map((t) => `${t.id}:${t.port}`).sort()).toEqual([`${OFF_VPC_IP}:32768`, `${OFF_VPC_IP}:32769`, `${OFF_VPC_IP}:8080`]);
    expect(health.every((t) => t.state === 'initial' && t.reason === 'Elb.RegistrationInProgress' && t.az === 'all')).toBe(true);

    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 32768 }] }));
    const after = await healthOf(arn);
    expect(after.find((t) => t.port === 32768)?.state).toBe('draining');
    expect(after.find((t) => t.port === 32769)?.state).toBe('initial');
  });

  it('treats registering a registered target as a no-op and deregistering an unknown one as success', async () => {
    const arn = await newGroup();
    const target = { Id: OFF_VPC_IP, Port: 9000, AvailabilityZone: 'all' };
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target] }));
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target, target] }));
    expect(elb.targets(arn)).toEqual([{ id: OFF_VPC_IP, port: 9000, availabilityZone: 'all', state: 'initial', reason: 'Elb.RegistrationInProgress' }]);

    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: '192.168.99.99', Port: 1234 }] }));
    expect(elb.targets(arn)).toHaveLength(1);
  });

  it('puts a draining target back to initial when it is registered again', async () => {
    const arn = await newGroup();
    const target = { Id: OFF_VPC_IP, Port: 9001, AvailabilityZone: 'all' };
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target] }));
    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [target] }));
    expect(elb.targets(arn)[0]?.state).toBe('draining');
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [target] }));
    expect(elb.targets(arn)).toMatchObject([{ id: OFF_VPC_IP, port: 9001, state: 'initial', reason: 'Elb.RegistrationInProgress' }]);
  });

  it('reports a filtered target that is not registered as unused / Target.NotRegistered', async () => {
    const arn = await newGroup();
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 7000, AvailabilityZone: 'all' }] }));
    const out = await client.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 7000 }, { Id: OFF_VPC_IP, Port: 7001 }] }),
    );
    expect(out.TargetHealthDescriptions?.map((d) => [d.Target?.Port, d.TargetHealth?.State, d.TargetHealth?.Reason])).toEqual([
      [7000, 'initial', 'Elb.RegistrationInProgress'],
      [7001, 'unused', 'Target.NotRegistered'],
    ]);
    expect(out.TargetHealthDescriptions?.[1]?.TargetHealth?.Description).toBe('Target is not registered to the target group');
    expect(out.TargetHealthDescriptions?.[0]?.HealthCheckPort).toBe('7000');
  });

  it('applies the address rules of ip targets: private or in-VPC only, valid IPv4, ports 1-65535', async () => {
    const arn = await newGroup();
    const publicIp = await sdkError(
      client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: '8.8.8.8', Port: 80, AvailabilityZone: 'all' }] })),
    );
    expect(publicIp).toBeInstanceOf(InvalidTargetException);
    expect(publicIp.name).toBe('InvalidTargetException');
    expect(publicIp.message).toContain("The IP address '8.8.8.8' is not a valid target");

    const notIp = await sdkError(client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: '10.0.0.300', Port: 80 }] })));
    expect(notIp.name).toBe('ValidationError');
    expect(notIp.message).toBe("The IP address '10.0.0.300' is not a valid IPv4 address");

    const badPort = await sdkError(
      client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 0, AvailabilityZone: 'all' }] })),
    );
    expect(badPort.name).toBe('ValidationError');
    expect(badPort.message).toBe(
      "1 validation error detected: Value '0' at 'targets.1.member.port' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );

    // 100.64/10 (RFC 6598) is allowed off-VPC.
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: '100.64.1.2', Port: 80, AvailabilityZone: 'all' }] }));
    // A bad target fails the whole call: nothing of it is registered.
    await sdkError(
      client.send(
        new RegisterTargetsCommand({
          TargetGroupArn: arn,
          Targets: [
            { Id: '172.16.0.5', Port: 80, AvailabilityZone: 'all' },
            { Id: '1.1.1.1', Port: 80, AvailabilityZone: 'all' },
          ],
        }),
      ),
    );
    expect(elb.targets(arn).map((t) => t.id)).toEqual(['100.64.1.2']);
  });

  it('requires an Availability Zone off-VPC and refuses "all" inside the VPC (ValidationError, as AWS)', async () => {
    const arn = await newGroup();
    const missingZone = await sdkError(client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 80 }] })));
    expect(missingZone.name).toBe('ValidationError');
    expect(missingZone.message).toBe(`The Availability Zone is required for IP address '${OFF_VPC_IP}' because it is not in the VPC`);

    const allInVpc = await sdkError(
      client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: IN_VPC_IP, Port: 80, AvailabilityZone: 'all' }] })),
    );
    expect(allInVpc.name).toBe('ValidationError');
    expect(allInVpc.message).toBe(`The IP address '${IN_VPC_IP}' is within the VPC, and cannot have its Availability Zone overridden to 'all' from 'us-east-1a'`);

    await client.send(
      new RegisterTargetsCommand({
        TargetGroupArn: arn,
        Targets: [
          { Id: IN_VPC_IP, Port: 80 },
          { Id: OFF_VPC_IP, Port: 80, AvailabilityZone: 'all' },
          { Id: OFF_VPC_IP, Port: 81, AvailabilityZone: 'us-east-1b' },
        ],
      }),
    );
    expect(elb.targets(arn).map((t) => [t.id, t.port, t.availabilityZone])).toEqual([
      [IN_VPC_IP, 80, undefined],
      [OFF_VPC_IP, 80, 'all'],
      [OFF_VPC_IP, 81, 'us-east-1b'],
    ]);
  });

  it('refuses "all" off-VPC once cross-zone load balancing is off for the group', async () => {
    const arn = await newGroup();
    await client.send(
      new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'false' }] }),
    );
    const refused = await sdkError(
      client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 80, AvailabilityZone: 'all' }] })),
    );
    expect(refused.name).toBe('ValidationError');
    // The phrase the AWS Load Balancer Controller recognises the refusal by (isAZValidationError).
    expect(refused.message).toContain('you must specify an Availability Zone');
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 80, AvailabilityZone: 'us-east-1c' }] }));
    expect(elb.targets(arn)).toMatchObject([{ id: OFF_VPC_IP, availabilityZone: 'us-east-1c' }]);
  });

  it('shows a group\'s load balancers and their zones; a Network Load Balancer without cross-zone refuses "all"', async () => {
    const arn = await newGroup();
    const lb = elb.createLoadBalancer({ name: 'nlb', type: 'network', zones: ['us-east-1a', 'us-east-1b'], targetGroupArns: [arn] });
    const groups = await client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }));
    expect(groups.TargetGroups?.[0]?.LoadBalancerArns).toEqual([lb]);
    const lbs = await client.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb] }));
    expect(lbs.LoadBalancers?.map((l) => [l.Type, l.AvailabilityZones?.map((z) => z.ZoneName)])).toEqual([['network', ['us-east-1a', 'us-east-1b']]]);
    expect((await sdkError(client.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [`${lb}0`] })))).name).toBe('LoadBalancerNotFoundException');
    const refused = await sdkError(client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 80, AvailabilityZone: 'all' }] })));
    expect([refused.name, refused.message.includes('you must specify an Availability Zone')]).toEqual(['ValidationError', true]);
    // The group's own attribute overrides the load balancer's setting.
    await client.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }] }));
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 80, AvailabilityZone: 'all' }] }));
    expect(elb.targets(arn)).toMatchObject([{ id: OFF_VPC_IP, availabilityZone: 'all' }]);
  });

  it('enforces the per-group target quota with TooManyTargets, counting draining targets', async () => {
    const arn = await newGroup();
    const targets = [1, 2, 3, 4, 5].map((i) => ({ Id: OFF_VPC_IP, Port: 10_000 + i, AvailabilityZone: 'all' }));
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: targets }));
    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 10_001 }] }));
    const error = await sdkError(
      client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 10_100, AvailabilityZone: 'all' }] })),
    );
    expect(error).toBeInstanceOf(TooManyTargetsException);
    expect(error.name).toBe('TooManyTargetsException');
    expect(error.message).toContain("You've reached the limit on the number of targets");
    // Re-registering one already there is still fine at the quota.
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: targets.slice(1, 2) }));
    expect(elb.targets(arn)).toHaveLength(5);
  });

  it('answers TargetGroupNotFound and malformed-ARN ValidationError for target actions', async () => {
    const unknown = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ghost/0123456789abcdef';
    const notFound = await sdkError(client.send(new DescribeTargetHealthCommand({ TargetGroupArn: unknown })));
    expect(notFound).toBeInstanceOf(TargetGroupNotFoundException);
    expect((notFound as { Code?: string }).Code).toBe('TargetGroupNotFound');

    const malformed = await sdkError(
      client.send(new RegisterTargetsCommand({ TargetGroupArn: 'arn:aws:nope', Targets: [{ Id: OFF_VPC_IP, AvailabilityZone: 'all' }] })),
    );
    expect(malformed.name).toBe('ValidationError');
    expect(malformed.message).toBe("'arn:aws:nope' is not a valid target group ARN");
  });

  it('lets registerForeign add targets as another host would, visible to DescribeTargetHealth', async () => {
    const arn = await newGroup();
    elb.registerForeign(arn, [{ id: '192.168.7.7', port: 31000, availabilityZone: 'all' }]);
    expect((await healthOf(arn)).map((t) => `${t.id}:${t.port}`)).toEqual(['192.168.7.7:31000']);
    const last = elb.requestLog.at(-1);
    expect(last?.action).toBe('DescribeTargetHealth');
    expect(last).toMatchObject({ targetGroupArn: arn, caller: TEST_ACCESS_KEY_ID, status: 200 });
  });
});

describe('SDK configuration', () => {
  it('is reachable through AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 alone (no endpoint option)', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
    process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = elb.url;
    const viaEnv = new ElasticLoadBalancingV2Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAENVENDPOINT00001', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    try {
      const arn = await newGroup();
      const out = await viaEnv.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }));
      expect(out.TargetGroups?.[0]?.TargetGroupArn).toBe(arn);
      expect(elb.requestLog.at(-1)?.caller).toBe('AKIAENVENDPOINT00001');
    } finally {
      viaEnv.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2;
      else process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = saved;
    }
  });
});

describe('request log', () => {
  it('records action, group, targets, caller, status and error code; clearRequestLog empties it', async () => {
    const arn = await newGroup();
    elb.clearRequestLog();
    expect(elb.requestLog).toHaveLength(0);
    await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: OFF_VPC_IP, Port: 5000, AvailabilityZone: 'all' }] }));
    await sdkError(client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: '8.8.4.4', Port: 5000, AvailabilityZone: 'all' }] })));
    expect(elb.requestLog).toMatchObject([
      { action: 'RegisterTargets', targetGroupArn: arn, targets: [{ id: OFF_VPC_IP, port: 5000, az: 'all' }], caller: TEST_ACCESS_KEY_ID, status: 200 },
      { action: 'RegisterTargets', targets: [{ id: '8.8.4.4', port: 5000, az: 'all' }], status: 400, errorCode: 'InvalidTarget' },
    ]);
    expect(elb.requestLog[0]?.time).toBeGreaterThan(Date.now() - 10_000);
  });
});
