// What each target group holds as far as this host knows without asking: seeded from its
// own records, replaced by a read, updated by its own registrations and deregistrations.
import { describe, expect, it } from 'vitest';
import type { OwnedTarget } from '../../agent/core/state.ts';
import type { ActualTarget } from '../../agent/core/target-registry.ts';
import { GroupViews, UNVERIFIED } from '../../agent/reconcile/group-view.ts';
import { OUTCOME_UNKNOWN } from '../../agent/reconcile/plan.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const TG2 = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const record = (targetGroupArn: string, id: string, port: number, extra: Partial<OwnedTarget> = {}): OwnedTarget => ({ targetGroupArn, id, port, containerId: `c${port}`, ...extra });
const actual = (id: string, port: number, state: string, extra: Partial<ActualTarget> = {}): ActualTarget => ({ id, port, state, ...extra });
const byKey = (targets: readonly ActualTarget[]) => [...targets].sort((a, b) => `${a.id}:${a.port}`.localeCompare(`${b.id}:${b.port}`));

describe('GroupViews', () => {
  it('seeds a group never seen from this host\'s records of that group only, as unverified', () => {
    const views = new GroupViews();
    const records = [record(TG, '10.8.0.10', 32768, { availabilityZone: 'all' }), record(TG2, '10.8.0.10', 40000), record(TG, '10.8.0.6', 32769)];
    expect(byKey(views.view(TG, records))).toEqual([
      { id: '10.8.0.10', port: 32768, availabilityZone: 'all', state: UNVERIFIED },
      { id: '10.8.0.6', port: 32769, state: UNVERIFIED },
    ]);
    expect(UNVERIFIED).toBe('unverified');
  });

  it('seeds only once: later records do not change a view already made', () => {
    const views = new GroupViews();
    expect(views.view(TG, [])).toEqual([]);
    expect(views.view(TG, [record(TG, '10.8.0.10', 32768)])).toEqual([]);
  });

  it('is empty for a group without records', () => {
    expect(new GroupViews().view(TG, [record(TG2, '10.8.0.10', 40000)])).toEqual([]);
  });

  it('is replaced whole by a read, records or not', () => {
    const views = new GroupViews();
    views.view(TG, [record(TG, '10.8.0.10', 32768)]);
    views.read(TG, [actual('10.8.0.11', 32768, 'healthy'), actual('10.8.0.10', 32770, 'unhealthy', { reason: 'Target.FailedHealthChecks' })]);
    expect(byKey(views.view(TG, [record(TG, '10.8.0.10', 32768)]))).toEqual([
      { id: '10.8.0.10', port: 32770, state: 'unhealthy', reason: 'Target.FailedHealthChecks' },
      { id: '10.8.0.11', port: 32768, state: 'healthy' },
    ]);
  });

  it('a read of an empty group empties the view', () => {
    const views = new GroupViews();
    views.view(TG, [record(TG, '10.8.0.10', 32768)]);
    views.read(TG, []);
    expect(views.view(TG, [record(TG, '10.8.0.10', 32768)])).toEqual([]);
  });

  it('adds what this host registered as initial, keeps what was there, and revives a draining target', () => {
    const views = new GroupViews();
    views.read(TG, [actual('10.8.0.10', 32768, 'healthy'), actual('10.8.0.10', 32769, 'draining'), actual('10.8.0.11', 32768, 'healthy')]);
    views.registered(TG, [
      { id: '10.8.0.10', port: 32768 },
      { id: '10.8.0.10', port: 32769 },
      { id: '10.8.0.10', port: 32770, availabilityZone: 'all' },
    ]);
    expect(byKey(views.view(TG, []))).toEqual([
      { id: '10.8.0.10', port: 32768, state: 'healthy' },
      { id: '10.8.0.10', port: 32769, state: 'initial' },
      { id: '10.8.0.10', port: 32770, availabilityZone: 'all', state: 'initial' },
      { id: '10.8.0.11', port: 32768, state: 'healthy' },
    ]);
  });

  it('a registration that got an answer settles one that got none: the target is in the group (found by the chaos soak: a register per pass for minutes)', () => {
    const views = new GroupViews();
    views.read(TG, []);
    views.outcomeUnknown(TG, [{ id: '10.8.0.10', port: 32768 }]);
    expect(views.view(TG, [])).toEqual([{ id: '10.8.0.10', port: 32768, state: OUTCOME_UNKNOWN }]);
    views.registered(TG, [{ id: '10.8.0.10', port: 32768 }]);
    expect(views.view(TG, [])).toEqual([{ id: '10.8.0.10', port: 32768, state: 'initial' }]);
  });

  it('a registration into a group not viewed yet makes a view of just those targets', () => {
    const views = new GroupViews();
    views.registered(TG, [{ id: '10.8.0.10', port: 32768 }]);
    expect(views.view(TG, [record(TG, '10.8.0.10', 40000)])).toEqual([{ id: '10.8.0.10', port: 32768, state: 'initial' }]);
  });

  it('marks what this host deregistered as draining and ignores targets it does not know', () => {
    const views = new GroupViews();
    views.read(TG, [actual('10.8.0.10', 32768, 'healthy', { availabilityZone: 'all' }), actual('10.8.0.11', 32768, 'healthy')]);
    views.deregistered(TG, [{ id: '10.8.0.10', port: 32768 }, { id: '10.8.0.10', port: 40000 }]);
    expect(byKey(views.view(TG, []))).toEqual([
      { id: '10.8.0.10', port: 32768, availabilityZone: 'all', state: 'draining' },
      { id: '10.8.0.11', port: 32768, state: 'healthy' },
    ]);
  });

  it('a deregistration in a group never viewed makes no view (the records still seed it)', () => {
    const views = new GroupViews();
    views.deregistered(TG, [{ id: '10.8.0.10', port: 32768 }]);
    expect(views.view(TG, [record(TG, '10.8.0.10', 32768)])).toEqual([{ id: '10.8.0.10', port: 32768, state: UNVERIFIED }]);
  });

  it('knows which groups were read in this process: not seeding, not writing, only reading', () => {
    const views = new GroupViews();
    views.view(TG, [record(TG, '10.8.0.10', 32768)]);
    views.registered(TG, [{ id: '10.8.0.10', port: 32769 }]);
    views.deregistered(TG, [{ id: '10.8.0.10', port: 32768 }]);
    expect(views.wasRead(TG)).toBe(false);
    views.read(TG, []);
    expect(views.wasRead(TG)).toBe(true);
    expect(views.wasRead(TG2)).toBe(false);
  });

  it('keeps groups apart', () => {
    const views = new GroupViews();
    views.read(TG, [actual('10.8.0.10', 32768, 'healthy')]);
    views.registered(TG2, [{ id: '10.8.0.10', port: 40000 }]);
    expect(views.view(TG, [])).toEqual([{ id: '10.8.0.10', port: 32768, state: 'healthy' }]);
    expect(views.view(TG2, [])).toEqual([{ id: '10.8.0.10', port: 40000, state: 'initial' }]);
  });
});
