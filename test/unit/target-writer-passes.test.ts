// The target writer within whole passes (reconcile/target-writer.ts): throttled calls and the pace,
// one bad target split out, outages and backoff, lost answers and refused targets.
import { describe, expect, it } from 'vitest';
import { OperationError } from '../../agent/errors.ts';
import type { PassResult } from '../../agent/reconcile/reconciler.ts';
import { WEB, API, HOST, OLD, T0, MIN_READ_INTERVAL_MS, BIG_FLEET, container, world, call, byGroup } from '../support/reconciler-world.ts';

describe('Reconciler: throttling', () => {
  it('after a throttled change sends nothing more of that class until the pace allows it, then the pending changes of each group in one call', async () => {
    const w = world({ fleetSize: BIG_FLEET });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');

    w.elb.fail('throttled', { action: 'RegisterTargets' });
    w.host.start(container('c2', 32769, [WEB]));
    const throttledAt = w.mark();
    const throttled = await agent.pass('event:start');
    expect(w.since(throttledAt)).toEqual([call('RegisterTargets', WEB, [`${HOST}:32769`], 'Throttling')]);
    expect(throttled).toMatchObject({ failed: 1, settled: false });
    expect(throttled.nextPassInMs).toBeGreaterThan(0);
    // The pace holds the change class for one share interval (10,000 hosts at 4/s: 2,500 s).
    expect(agent.pace.delayMs('change')).toBe(2_500_000);

    // More changes arrive, in this group and another one, while the class is held.
    w.host.start(container('c3', 32770, [WEB]), container('c4', 32771, [API]));
    const changesBefore = w.elb.changeCalls().length;
    const deferredPasses: PassResult[] = [];
    let next = throttled.nextPassInMs as number;
    for (let i = 0; i < 50 && agent.pace.delayMs('change') > 0; i++) {
      w.advance(Math.min(next, agent.pace.delayMs('change')));
      if (agent.pace.delayMs('change') === 0) break;
      const r = await agent.pass('retry');
      deferredPasses.push(r);
      expect(w.elb.changeCalls().length).toBe(changesBefore);
      expect(r.settled).toBe(false);
      expect(r.deferred).toBe(2);
      // It asks for a later pass, no later than when the pace allows the deferred changes.
      expect(r.nextPassInMs).toBeGreaterThan(0);
      expect(r.nextPassInMs).toBeLessThanOrEqual(agent.pace.delayMs('change'));
      next = r.nextPassInMs as number;
    }
    expect(deferredPasses.length).toBeGreaterThan(0);
    expect(agent.pace.delayMs('change')).toBe(0);
    expect(w.now() - T0).toBe(2_500_000);

    const mark = w.mark();
    const released = await agent.pass('retry');
    expect(byGroup(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth'))).toEqual([
      call('RegisterTargets', API, [`${HOST}:32771`]),
      call('RegisterTargets', WEB, [`${HOST}:32769`, `${HOST}:32770`]),
    ]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`, `${HOST}:32770`]);
    expect(w.elb.holds(API)).toEqual([`${HOST}:32771`]);
    expect(w.recorded()).toEqual([`api ${HOST}:32771`, `web ${HOST}:32768`, `web ${HOST}:32769`, `web ${HOST}:32770`]);
    expect(released).toMatchObject({ registered: 3, failed: 0, settled: true });
    expect(released.deferred).toBeUndefined();
  });

  it('reads are a class of their own: a held change class does not stop a due read', async () => {
    const w = world({ fleetSize: BIG_FLEET });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.elb.fail('throttled', { action: 'RegisterTargets' });
    w.host.start(container('c2', 32769, [WEB]));
    await agent.pass('event:start');
    w.advance(1_000_000);
    const mark = w.mark();
    await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('DescribeTargetHealth', WEB, [])]);
  });
});

describe('Reconciler: one bad target, outages', () => {
  it('a call refused for one invalid target is split so the others still get in', async () => {
    const w = world();
    w.elb.invalid.add(`${HOST}:32769`);
    w.host.start(container('c1', 32768, [WEB]), container('c2', 32769, [WEB]), container('c3', 32770, [WEB]));
    const result = await w.start().pass('startup');
    expect(w.elb.calls).toEqual([
      call('RegisterTargets', WEB, [`${HOST}:32768`, `${HOST}:32769`, `${HOST}:32770`], 'InvalidTarget'),
      call('RegisterTargets', WEB, [`${HOST}:32768`]),
      call('RegisterTargets', WEB, [`${HOST}:32769`], 'InvalidTarget'),
      call('RegisterTargets', WEB, [`${HOST}:32770`]),
    ]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32770`]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`, `web ${HOST}:32770`]);
    expect(result).toMatchObject({ registered: 2, failed: 1, settled: false });
  });

  it('a group that cannot be changed for a permanent reason leaves the other groups alone', async () => {
    const w = world();
    w.elb.fail('permanent', { action: 'RegisterTargets', group: API });
    w.host.start(container('c1', 32768, [WEB, API]));
    const result = await w.start().pass('startup');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.elb.holds(API)).toEqual([]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
    expect(result).toMatchObject({ registered: 1, failed: 1, settled: false });
  });

  it('a failed read puts the group into backoff: its changes wait, then the read and the changes go together', async () => {
    const w = world({ random: () => 0 });
    w.elb.fail('transient', { action: 'DescribeTargetHealth' });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    const first = await agent.pass('startup');
    expect(w.elb.calls).toEqual([call('DescribeTargetHealth', WEB, [], 'ServiceUnavailable')]);
    expect(w.elb.holds(WEB)).toEqual([]);
    expect(first).toMatchObject({ registered: 0, deferred: 1, settled: false });
    // Nothing goes before the group's backoff ends (dice 0: half the 1 s base).
    w.advance(499);
    let mark = w.mark();
    await agent.pass('retry');
    expect(w.since(mark)).toEqual([]);
    w.advance(1);
    mark = w.mark();
    const second = await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('DescribeTargetHealth', WEB, []), call('RegisterTargets', WEB, [`${HOST}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(second).toMatchObject({ registered: 1, settled: true });
  });
});

describe('Reconciler: lost answers, refused targets, failed reads', () => {
  it.each([['transient', 500], ['permanent', 60_000]] as const)('a %s read failure: the pass asks to run again when the group backoff ends (%d ms), not at once', async (kind, backoffMs) => {
    const w = world({ random: () => 0 });
    w.elb.fail(kind, { action: 'DescribeTargetHealth' });
    w.host.start(container('c1', 32768, [WEB]));
    const result = await w.start().pass('startup');
    expect(result.nextPassInMs).toBe(backoffMs);
  });

  it('a registration applied by ELBv2 whose answer was lost stays recorded, so it is cleaned up after the address changes', async () => {
    const w = world({ address: OLD, random: () => 0 });
    const register = w.elb.register.bind(w.elb);
    let lose = true;
    w.elb.register = async (arn, targets) => {
      await register(arn, targets);
      if (lose) {
        lose = false;
        throw new OperationError('RegisterTargets', arn, 'RequestTimeout', 'transient', 'answer lost');
      }
    };
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    expect(w.recorded()).toEqual([`web ${OLD}:32768`]);
    w.address.address = HOST;
    w.advance(1_000);
    await agent.pass('address');
    w.advance(10_000_000); // past the next drift-repair read
    await agent.pass('periodic');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
  });

  it('a target the API refuses (InvalidTarget) is not sent again before the next periodic run; the others are', async () => {
    const w = world();
    w.elb.invalid.add(`${HOST}:32769`);
    w.host.start(container('c1', 32768, [WEB]), container('c2', 32769, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    const m = w.mark();
    for (let i = 0; i < 5; i++) {
      w.advance(1000);
      await agent.pass('event:health_status');
    }
    expect(w.since(m)).toEqual([]);
    w.advance(MIN_READ_INTERVAL_MS);
    const later = w.mark();
    await agent.pass('periodic');
    expect(w.since(later).filter((c) => c.action === 'RegisterTargets')).toEqual([call('RegisterTargets', WEB, [`${HOST}:32769`], 'InvalidTarget')]);
  });
});
