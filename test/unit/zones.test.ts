// Zones for groups that refuse AvailabilityZone=all (cross-zone load balancing off): which
// refusal it is, which zones a target can go to, which one this host takes, and that the plan
// uses it only outside the VPC and only where the group refused `all`.
import { describe, expect, it } from 'vitest';
import { isZoneRefusal, zoneForHost, zonesForTargets } from '../../agent/reconcile/policy.ts';
import { plan } from '../../agent/reconcile/plan.ts';
import { OperationError } from '../../agent/errors.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const TG2 = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';

describe('isZoneRefusal', () => {
  const op = (code: string, message: string) => new OperationError('RegisterTargets', 'tg/web', code, 'permanent', message);
  it.each<[string, unknown, boolean]>([
    ['the refusal, as the AWS Load Balancer Controller matches it', op('ValidationError', 'you must specify an Availability Zone for IP target'), true],
    ['the local endpoint\'s wording', op('ValidationError', "Availability Zone 'all' is not valid for IP address '10.8.0.10', which is outside the VPC: cross-zone load balancing is off for the target group, so you must specify an Availability Zone inside the VPC for the target group"), true],
    ['another validation error', op('ValidationError', 'some other validation error'), false],
    ['another code with the words', op('InvalidTarget', 'you must specify an Availability Zone'), false],
    ['not an operation error', new Error('you must specify an Availability Zone'), false],
  ])('%s', (_case, err, expected) => {
    expect(isZoneRefusal(err)).toBe(expected);
  });
});

describe('zonesForTargets', () => {
  it.each<[string, { zones: string[] }[], string[]]>([
    ['one load balancer: its zones, sorted', [{ zones: ['us-east-1c', 'us-east-1a'] }], ['us-east-1a', 'us-east-1c']],
    ['two: the zones both are enabled in', [{ zones: ['us-east-1a', 'us-east-1b'] }, { zones: ['us-east-1b', 'us-east-1c'] }], ['us-east-1b']],
    ['two without a common zone: any of theirs', [{ zones: ['us-east-1a'] }, { zones: ['us-east-1c'] }], ['us-east-1a', 'us-east-1c']],
    ['none', [], []],
  ])('%s', (_case, lbs, expected) => {
    expect(zonesForTargets(lbs)).toEqual(expected);
  });
});

describe('zoneForHost', () => {
  const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
  it('is the same for a host on every call and in any order of the zones', () => {
    const id = '0123456789abcdef0123456789abcdef';
    expect(zoneForHost(zones, id)).toBe(zoneForHost([...zones].reverse(), id));
    expect(zones).toContain(zoneForHost(zones, id));
  });
  it('spreads a fleet over the zones', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const z = zoneForHost(zones, `host-${i}`) as string;
      counts.set(z, (counts.get(z) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(zones);
    for (const n of counts.values()) expect(n).toBeGreaterThan(60);
  });
  it('has no answer without zones', () => {
    expect(zoneForHost([], 'h')).toBeUndefined();
  });
});

describe('plan with groups that take a real zone', () => {
  const endpoint = (arn: string) => ({ targetGroupArn: arn, port: 32768, containerId: 'c', containerName: 'web' });
  const zonesOf = (out: ReturnType<typeof plan>) => Object.fromEntries(out.map((p) => [p.targetGroupArn === TG ? 'web' : 'api', p.register.map((r) => r.target.availabilityZone)]));
  it.each<[string, string | undefined, Record<string, (string | undefined)[]>]>([
    ['outside the VPC: the remembered zone for that group, all for the others', 'all', { web: ['us-east-1b'], api: ['all'] }],
    ['inside the VPC: no zone at all', undefined, { web: [undefined], api: [undefined] }],
  ])('%s', (_case, availabilityZone, expected) => {
    const out = plan({
      endpoints: [endpoint(TG), endpoint(TG2)], actual: new Map([[TG, []], [TG2, []]]), ownedAddresses: new Set(['10.8.0.10']), address: '10.8.0.10',
      ...(availabilityZone !== undefined ? { availabilityZone } : {}), groupZones: new Map([[TG, 'us-east-1b']]),
    });
    expect(zonesOf(out)).toEqual(expected);
  });
});
