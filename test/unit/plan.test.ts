import { describe, expect, it } from 'vitest';
import { plan, type PlanInput } from '../../agent/reconcile/plan.ts';
import { type ActualTarget } from '../../agent/core/target-registry.ts';
import type { DesiredEndpoint } from '../../agent/mapping/desired.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const TG2 = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const ep = (port: number, tg = TG): DesiredEndpoint => ({ targetGroupArn: tg, port, containerId: `c${port}`, containerName: `app-${port}` });
const t = (id: string, port: number, state = 'healthy'): ActualTarget => ({ id, port, state, availabilityZone: 'all' });

interface Row {
  name: string;
  input: Omit<PlanInput, 'ownedAddresses' | 'ownedTargets'> & { owned?: string[]; recorded?: string[] };
  register: Record<string, string[]>;
  deregister: Record<string, string[]>;
}

// Each row: desired endpoints and what the groups hold -> the exact changes per group.
const rows: Row[] = [
  {
    name: 'empty group, two containers: both registered',
    input: { endpoints: [ep(32768), ep(32769)], actual: new Map([[TG, []]]), address: '10.8.0.10', owned: ['10.8.0.10'] },
    register: { [TG]: ['10.8.0.10:32768', '10.8.0.10:32769'] },
    deregister: {},
  },
  {
    name: 'already registered: no change',
    input: { endpoints: [ep(32768)], actual: new Map([[TG, [t('10.8.0.10', 32768)]]]), address: '10.8.0.10' },
    register: {},
    deregister: {},
  },
  {
    name: 'container gone: our target deregistered, other host untouched',
    input: { endpoints: [], actual: new Map([[TG, [t('10.8.0.10', 32768), t('10.8.0.11', 32768)]]]), address: '10.8.0.10' },
    register: {},
    deregister: { [TG]: ['10.8.0.10:32768'] },
  },
  {
    name: 'draining target is neither deregistered again nor counted as present',
    input: { endpoints: [ep(32770)], actual: new Map([[TG, [t('10.8.0.10', 32768, 'draining'), t('10.8.0.10', 32770, 'draining')]]]), address: '10.8.0.10' },
    register: { [TG]: ['10.8.0.10:32770'] },
    deregister: {},
  },
  {
    name: 'address changed: register new, deregister the recorded old one (make before break)',
    input: { endpoints: [ep(32768)], actual: new Map([[TG, [t('10.8.0.6', 32768)]]]), address: '10.8.0.10', recorded: [`${TG}|10.8.0.6|32768`] },
    register: { [TG]: ['10.8.0.10:32768'] },
    deregister: { [TG]: ['10.8.0.6:32768'] },
  },
  {
    name: 'no usable address: nothing registered, serving containers kept, stopped ones removed',
    input: { endpoints: [ep(32768)], actual: new Map([[TG, [t('10.8.0.10', 32768), t('10.8.0.10', 32769)]]]), recorded: [`${TG}|10.8.0.10|32768`, `${TG}|10.8.0.10|32769`] },
    register: {},
    deregister: { [TG]: ['10.8.0.10:32769'] },
  },
  {
    name: 'an earlier address of ours, now another host\'s: only the recorded target is ours',
    input: { endpoints: [], actual: new Map([[TG, [t('10.8.0.6', 32768), t('10.8.0.6', 40000)]]]), address: '10.8.0.10', recorded: [`${TG}|10.8.0.6|32768`] },
    register: {},
    deregister: { [TG]: ['10.8.0.6:32768'] },
  },
  {
    name: 'foreign address with our port is never touched',
    input: { endpoints: [], actual: new Map([[TG, [t('10.9.9.9', 32768), t('10.9.9.9', 40000)]]]), address: '10.8.0.10' },
    register: {},
    deregister: {},
  },
  {
    name: 'one container in two groups; group not read is left alone',
    input: { endpoints: [ep(32768), ep(32768, TG2), ep(32771, 'arn:unread')], actual: new Map([[TG, []], [TG2, []]]), address: '10.8.0.10' },
    register: { [TG]: ['10.8.0.10:32768'], [TG2]: ['10.8.0.10:32768'] },
    deregister: {},
  },
  {
    name: 'duplicate endpoints collapse into one registration',
    input: { endpoints: [ep(32768), ep(32768)], actual: new Map([[TG, []]]), address: '10.8.0.10' },
    register: { [TG]: ['10.8.0.10:32768'] },
    deregister: {},
  },
];

describe('plan', () => {
  for (const row of rows) {
    it(row.name, () => {
      const { owned, recorded, ...rest } = row.input;
      const result = plan({ ...rest, ownedAddresses: new Set(owned ?? (rest.address ? [rest.address] : [])), ownedTargets: new Set(recorded ?? []) });
      const reg = Object.fromEntries(result.filter((p) => p.register.length).map((p) => [p.targetGroupArn, p.register.map((r) => `${r.target.id}:${r.target.port}`)]));
      const dereg = Object.fromEntries(result.filter((p) => p.deregister.length).map((p) => [p.targetGroupArn, p.deregister.map((d) => `${d.target.id}:${d.target.port}`)]));
      expect(reg).toEqual(row.register);
      expect(dereg).toEqual(row.deregister);
    });
  }

  it('registers with the availability zone given and says why it deregisters', () => {
    const result = plan({
      endpoints: [ep(1000)],
      actual: new Map([[TG, [t('10.8.0.6', 1000), t('10.8.0.10', 2000)]]]),
      ownedAddresses: new Set(['10.8.0.10']),
      ownedTargets: new Set([`${TG}|10.8.0.6|1000`]),
      address: '10.8.0.10',
      availabilityZone: 'all',
    });
    expect(result[0]?.register[0]?.target).toEqual({ id: '10.8.0.10', port: 1000, availabilityZone: 'all' });
    expect(result[0]?.register[0]?.endpoint.containerName).toBe('app-1000');
    expect(result[0]?.deregister.map((d) => [d.target.id, d.why])).toEqual([
      ['10.8.0.6', 'address-changed'],
      ['10.8.0.10', 'not-desired'],
    ]);
  });

  it('omits the availability zone inside the VPC', () => {
    const result = plan({ endpoints: [ep(1000)], actual: new Map([[TG, []]]), ownedAddresses: new Set(['10.0.1.5']), address: '10.0.1.5' });
    expect(result[0]?.register[0]?.target).toEqual({ id: '10.0.1.5', port: 1000 });
  });
});
