// The group reader within whole passes (reconcile/group-reader.ts): drain timing, and reads that wait for the Describe pace.
import { describe, expect, it } from 'vitest';
import { WEB, MIN_READ_INTERVAL_MS, container, world } from '../support/reconciler-world.ts';

describe('Reconciler: drain time', () => {
  it('measures a deregistered target\'s drain when a later read no longer shows it (an upper bound), once', async () => {
    const w = world({ fleetSize: 1, random: () => 0 });
    const c = container('c1', 32768, [WEB]);
    w.host.start(c);
    const agent = w.start();
    await agent.pass('startup');
    w.host.stopping(c);
    await agent.pass('event:kill');
    // The in-memory ELBv2 drains at once; the agent sees it at its next read, one interval (60 s) later.
    expect(w.drained).toEqual([]);
    w.advance(MIN_READ_INTERVAL_MS * 1.2);
    await agent.pass('periodic');
    expect(w.drained).toEqual([{ arn: WEB, ms: MIN_READ_INTERVAL_MS * 1.2 }]);
    w.advance(MIN_READ_INTERVAL_MS * 1.2);
    await agent.pass('periodic');
    expect(w.drained).toHaveLength(1);
  });
});

describe('Reconciler: a due read that waits for the pace', () => {
  it('asks for the next pass when the Describe pace allows the read, not at once (no 50 ms spin)', async () => {
    const w = world({ fleetSize: 100, random: () => 0.5 });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    // Past the first-read window, with the Describe class held after a throttled read.
    w.advance(10 * MIN_READ_INTERVAL_MS);
    agent.pace.outcome('describe', 'throttled');
    const hold = agent.pace.delayMs('describe');
    expect(hold).toBeGreaterThan(1000);
    const result = await agent.pass('periodic');
    expect(w.elb.callsOf('DescribeTargetHealth')).toEqual([]);
    expect(result.nextPassInMs).toBe(hold);
  });
});
