import { describe, expect, it } from 'vitest';
import { mergeTargets } from '../../agent/core/state.ts';
import { keptAddresses, ownedAfter } from '../../agent/reconcile/owned-targets.ts';
import type { ActualTarget } from '../../agent/core/target-registry.ts';
import type { OwnedTarget } from '../../agent/core/state.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const TG2 = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const rec = (id: string, port: number, arn = TG): OwnedTarget => ({ targetGroupArn: arn, id, port, containerId: `c${port}` });
const live = (id: string, port: number, state = 'healthy'): ActualTarget => ({ id, port, state });
const keys = (ts: OwnedTarget[]) => ts.map((t) => `${t.targetGroupArn === TG ? 'web' : 'api'} ${t.id}:${t.port}`);

describe('ownedAfter', () => {
  it('keeps current-address targets and recorded ones, drops draining, removed and foreign ones, adds registered ones', () => {
    const previous = [rec('10.8.0.6', 100), rec('10.8.0.10', 200), rec('10.8.0.10', 300, TG2)];
    const actual = new Map([[TG, [live('10.8.0.6', 100), live('10.8.0.6', 101), live('10.8.0.10', 200), live('10.8.0.10', 201, 'draining'), live('10.8.0.10', 202), live('10.9.9.9', 200)]]]);
    const applied = new Map([[TG, { added: [rec('10.8.0.10', 250)], removed: new Set([`${TG}|10.8.0.10|200`]) }]]);
    const out = ownedAfter(previous, actual, applied, new Set(['10.8.0.10']), []);
    // 10.8.0.6:101 is not recorded and not on the current address: another host's now.
    // The group api was not read: its record stays.
    expect(keys(out)).toEqual(['api 10.8.0.10:300', 'web 10.8.0.10:202', 'web 10.8.0.10:250', 'web 10.8.0.6:100']);
    expect(out.find((t) => t.port === 100)?.containerId).toBe('c100');
  });
});

describe('keptAddresses', () => {
  it.each([
    ['an earlier address with a record stays, one without goes', ['10.8.0.5', '10.8.0.6'], '10.8.0.10', [rec('10.8.0.6', 100)], ['10.8.0.6', '10.8.0.10']],
    ['the current address stays without records', ['10.8.0.5'], '10.8.0.10', [], ['10.8.0.10']],
    ['no current address and no records: nothing', ['10.8.0.10'], undefined, [], []],
    ['no current address: addresses with records stay', ['10.8.0.10', '10.8.0.11'], undefined, [rec('10.8.0.10', 80)], ['10.8.0.10']],
  ])('%s', (_case, recorded, address, targets, expected) => {
    expect(keptAddresses(recorded, address, targets)).toEqual(expected);
  });
});

describe('mergeTargets', () => {
  it('replaces records of the same target and keeps the rest', () => {
    const merged = mergeTargets([rec('10.8.0.10', 100), rec('10.8.0.10', 200)], [{ ...rec('10.8.0.10', 200), containerId: 'new' }]);
    expect(merged.map((t) => `${t.port}:${t.containerId}`)).toEqual(['100:c100', '200:new']);
  });
});
