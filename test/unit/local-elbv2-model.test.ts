// The local ELBv2 model on its own (no HTTP), with a controlled clock: registration rules,
// draining expiry, health-check scheduling and generations.
import { beforeEach, describe, expect, it } from 'vitest';
import { Elbv2Model } from '../support/local-elbv2/elbv2-model.ts';
import { ElbError } from '../support/local-elbv2/elb-error.ts';
import { parseCidr } from '../support/local-elbv2/ipv4-cidr.ts';

let now: number;
let model: Elbv2Model;

beforeEach(() => {
  now = 1_700_000_000_000;
  model = new Elbv2Model({
    region: 'eu-west-1',
    accountId: '111122223333',
    vpcCidrs: (vpcId) => (vpcId === 'vpc-11111111' ? [parseCidr('172.31.0.0/16')] : [parseCidr('10.0.0.0/16')]),
    maxTargetsPerGroup: 3,
    defaultDeregistrationDelaySeconds: 10,
    now: () => now,
  });
});

function group(name = 'tg', vpcId = 'vpc-0123456789abcdef0'): string {
  return model.createTargetGroup({ name, protocol: 'HTTP', port: 80, vpcId, targetType: 'ip', healthCheckIntervalSeconds: 10, healthCheckTimeoutSeconds: 5 }).arn;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ElbError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'no error';
}

describe('Elbv2Model', () => {
  it('builds ARNs from region, account and name', () => {
    expect(group('web')).toMatch(/^arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup\/web\/[0-9a-f]{16}$/);
  });

  it('uses the VPC CIDR of the group VPC for the in-VPC rule', () => {
    const arn = group('other-vpc', 'vpc-11111111');
    model.registerTargets(arn, [{ id: '172.31.4.4' }]);
    expect(codeOf(() => model.registerTargets(arn, [{ id: '10.0.1.1' }]))).toBe(
      "ValidationError: The Availability Zone is required for IP address '10.0.1.1' because it is not in the VPC",
    );
    expect(codeOf(() => model.registerTargets(arn, [{ id: '10.0.1.1', availabilityZone: 'us-east-1a' }]))).toBe(
      "ValidationError: The Availability Zone 'us-east-1a' is not valid for this target group",
    );
  });

  it('expires draining targets after the delay, and a re-registration cancels draining', () => {
    const arn = group();
    model.registerTargets(arn, [{ id: '192.168.0.1', availabilityZone: 'all' }, { id: '192.168.0.2', availabilityZone: 'all' }]);
    model.deregisterTargets(arn, [{ id: '192.168.0.1' }, { id: '192.168.0.2' }]);
    now += 5_000;
    model.registerTargets(arn, [{ id: '192.168.0.2', availabilityZone: 'all' }]);
    now += 4_999;
    expect(model.snapshot(arn).map((t) => `${t.id}:${t.state}`)).toEqual(['192.168.0.1:draining', '192.168.0.2:initial']);
    now += 1;
    expect(model.snapshot(arn).map((t) => `${t.id}:${t.state}`)).toEqual(['192.168.0.2:initial']);
  });

  it('does not restart the drain clock when a draining target is deregistered again', () => {
    const arn = group();
    model.registerTargets(arn, [{ id: '192.168.0.1', availabilityZone: 'all' }]);
    model.deregisterTargets(arn, [{ id: '192.168.0.1' }]);
    now += 6_000;
    model.deregisterTargets(arn, [{ id: '192.168.0.1' }]);
    now += 4_000;
    expect(model.snapshot(arn)).toEqual([]);
  });

  it('schedules the first check one interval after registration and then every interval', () => {
    const arn = group();
    model.registerTargets(arn, [{ id: '192.168.0.1', port: 8080, availabilityZone: 'all' }]);
    expect(model.takeDueHealthChecks()).toEqual([]);
    now += 10_000;
    const [job, ...rest] = model.takeDueHealthChecks();
    expect(rest).toEqual([]);
    expect(job).toMatchObject({ targetId: '192.168.0.1', probe: { protocol: 'HTTP', port: 8080, path: '/', timeoutMs: 5_000 } });
    expect(job?.probe.matches(200)).toBe(true);
    expect(job?.probe.matches(302)).toBe(false);
    // In flight: not handed out twice.
    expect(model.takeDueHealthChecks()).toEqual([]);
    if (job) model.recordHealthCheck(job, { ok: true });
    expect(model.snapshot(arn)[0]?.state).toBe('healthy');
    now += 9_999;
    expect(model.takeDueHealthChecks()).toEqual([]);
    now += 1;
    expect(model.takeDueHealthChecks()).toHaveLength(1);
  });

  it('ignores a check result that arrives after the target was deregistered and registered again', () => {
    const arn = group();
    model.registerTargets(arn, [{ id: '192.168.0.1', availabilityZone: 'all' }]);
    now += 10_000;
    const [job] = model.takeDueHealthChecks();
    model.deregisterTargets(arn, [{ id: '192.168.0.1' }]);
    model.registerTargets(arn, [{ id: '192.168.0.1', availabilityZone: 'all' }]);
    if (job) model.recordHealthCheck(job, { ok: false, reason: 'Target.Timeout', description: 'Request timed out' });
    expect(model.snapshot(arn)).toMatchObject([{ state: 'initial', reason: 'Elb.RegistrationInProgress' }]);
  });

  it('counts new targets against the quota before changing anything', () => {
    const arn = group();
    model.registerTargets(arn, [{ id: '192.168.0.1', availabilityZone: 'all' }, { id: '192.168.0.2', availabilityZone: 'all' }]);
    expect(codeOf(() => model.registerTargets(arn, [{ id: '192.168.0.3', availabilityZone: 'all' }, { id: '192.168.0.4', availabilityZone: 'all' }]))).toMatch(
      /^TooManyTargets: /,
    );
    expect(model.snapshot(arn)).toHaveLength(2);
    model.registerTargets(arn, [{ id: '192.168.0.3', availabilityZone: 'all' }, { id: '192.168.0.3', availabilityZone: 'all' }]);
    expect(model.snapshot(arn)).toHaveLength(3);
  });

  it('validates instance ids for instance target groups', () => {
    const arn = model.createTargetGroup({ name: 'inst', protocol: 'HTTP', port: 80, vpcId: 'vpc-0123456789abcdef0' }).arn;
    model.registerTargets(arn, [{ id: 'i-0123456789abcdef0' }]);
    expect(codeOf(() => model.registerTargets(arn, [{ id: '10.0.0.1' }]))).toBe("ValidationError: Instance ID '10.0.0.1' is not valid");
  });

  it('refuses to describe groups by name and ARN at once, and malformed markers', () => {
    const arn = group();
    expect(codeOf(() => model.describeTargetGroups({ arns: [arn], names: ['tg'] }))).toMatch(/^ValidationError: /);
    expect(codeOf(() => model.describeTargetGroups({ marker: 'bm90IGpzb24=' }))).toBe("ValidationError: Invalid marker 'bm90IGpzb24='");
  });
});
