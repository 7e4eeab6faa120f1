// A changed host address within whole passes: make-before-break, moves under pressure spread
// over the fleet's window, and no address at all.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELB_API_LIMITS, fleetChangeWindowMs } from '../../agent/fleet/api-budget.ts';
import { WEB, HOST, OLD, BIG_FLEET, container, world, call } from '../support/reconciler-world.ts';

describe('Reconciler: address change (make-before-break)', () => {
  it('registers on the new address, then deregisters the old targets, at once while nothing is throttled', async () => {
    const w = world({ address: OLD });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    expect(w.elb.holds(WEB)).toEqual([`${OLD}:32768`]);
    w.address.address = HOST;
    const mark = w.mark();
    const result = await agent.pass('address-change');
    expect(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth')).toEqual([call('RegisterTargets', WEB, [`${HOST}:32768`]), call('DeregisterTargets', WEB, [`${OLD}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.store.saved.addresses).toEqual([HOST]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
    expect(result).toMatchObject({ registered: 1, deregistered: 1, settled: true, address: HOST });
  });

  it('under pressure (its change pace throttled and not recovered) a move waits for this host\'s moment in the fleet\'s window', async () => {
    const w = world({ address: OLD });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    // A throttled call: the pace halves and holds the class; once the hold is over, calls go again at the lower rate.
    w.elb.fail('throttled', { action: 'RegisterTargets', times: 1 });
    w.host.start(container('c2', 32769, [WEB]));
    await agent.pass('event:start');
    w.advance(agent.pace.delayMs('change'));
    await agent.pass('retry');
    expect(w.elb.holds(WEB)).toEqual([`${OLD}:32768`, `${OLD}:32769`]);
    expect(agent.pace.rates().change).toBeLessThan(DEFAULT_ELB_API_LIMITS.change.perSecond);
    w.address.address = HOST;
    const mark = w.mark();
    // A move now is likely fleet-wide: it waits for this host's moment in the fleet's window (dice 0.5: the middle).
    const moveAt = w.now() + fleetChangeWindowMs(BIG_FLEET, 2, DEFAULT_ELB_API_LIMITS) / 2;
    let result = await agent.pass('address-change');
    while (w.now() < moveAt) {
      // Passes in between (the first drift-repair read among them) leave the move alone.
      expect(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth')).toEqual([]);
      expect(result.nextPassInMs).toBeLessThanOrEqual(moveAt - w.now());
      w.advance(result.nextPassInMs as number);
      result = await agent.pass('scheduled');
    }
    expect(w.now()).toBe(moveAt);
    expect(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth')).toEqual([
      call('RegisterTargets', WEB, [`${HOST}:32768`, `${HOST}:32769`]), call('DeregisterTargets', WEB, [`${OLD}:32768`, `${OLD}:32769`]),
    ]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
  });

  it('holds the old target back while the new registration fails, and lets it go once the new one is in', async () => {
    const w = world({ address: OLD });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.address.address = HOST;
    w.elb.fail('transient', { action: 'RegisterTargets' });
    let mark = w.mark();
    const failed = await agent.pass('address-change');
    expect(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth')).toEqual([call('RegisterTargets', WEB, [`${HOST}:32768`], 'ServiceUnavailable')]);
    expect(w.elb.holds(WEB)).toEqual([`${OLD}:32768`]);
    // Still this host's: the old address and its target stay recorded for the cleanup.
    expect(w.store.saved.addresses).toEqual([OLD, HOST]);
    expect(w.recorded()).toContain(`web ${OLD}:32768`);
    expect(failed).toMatchObject({ registered: 0, deregistered: 0, failed: 1, settled: false });
    // The group's backoff (500 ms with dice 0.5) is when the pass asks to run again.
    expect(failed.nextPassInMs).toBe(500);
    w.advance(failed.nextPassInMs as number);
    mark = w.mark();
    const retried = await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('RegisterTargets', WEB, [`${HOST}:32768`]), call('DeregisterTargets', WEB, [`${OLD}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.store.saved.addresses).toEqual([HOST]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
    expect(retried).toMatchObject({ registered: 1, deregistered: 1, failed: 0, settled: true });
  });

  it('after losing the address registers nothing and keeps the targets of serving containers', async () => {
    const w = world();
    const c1 = container('c1', 32768, [WEB]);
    w.host.start(c1, container('c2', 32769, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.address.address = undefined;
    const mark = w.mark();
    w.host.stopping(container('c2', 32769, [WEB]));
    const result = await agent.pass('address');
    expect(w.since(mark)).toEqual([call('DeregisterTargets', WEB, [`${HOST}:32769`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(result.address).toBeUndefined();
  });
});
