// The readiness tracker within whole passes (reconcile/readiness-tracker.ts) and the fleet wave
// gated registrations wait for (change-policies.ts).
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELB_API_LIMITS, fleetChangeWindowMs } from '../../agent/fleet/api-budget.ts';
import { WEB, HOST, container, world, call } from '../support/reconciler-world.ts';

describe('Reconciler: gated containers wait for their moment in the fleet window', () => {
  const gated = (id: string, port: number) => {
    const c = container(id, port, [WEB], { health: 'starting' });
    return { ...c, labels: { ...c.labels, 'ecs-anywhere-lb.readiness-gate': 'true' } };
  };

  it('a gated container is registered at this host\'s moment in the window, an ungated one at once, and its stop is never held', async () => {
    const w = world({ fleetSize: 100 });
    const agent = w.start();
    await agent.pass('startup');
    w.host.start(gated('g1', 32768), container('u1', 32769, [WEB]));
    const mark = w.mark();
    const first = await agent.pass('event:start');
    const changes = (from: number) => w.since(from).filter((c) => c.action === 'RegisterTargets' || c.action === 'DeregisterTargets');
    expect(changes(mark)).toEqual([call('RegisterTargets', WEB, [`${HOST}:32769`])]);
    // 100 hosts x one group x (register + deregister) at 80% of 4/s: 62.5 s; dice 0.5: the middle.
    const at = fleetChangeWindowMs(100, 2, DEFAULT_ELB_API_LIMITS) / 2;
    expect(first.nextPassInMs).toBeLessThanOrEqual(at);
    let waited = 0;
    let result = first;
    while (waited < at) {
      const step = result.nextPassInMs as number;
      w.advance(step);
      waited += step;
      result = await agent.pass('scheduled');
    }
    expect(waited).toBe(at);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
    // Stopping is never spread: the gated container's deregistration goes at once.
    w.host.stopping(gated('g1', 32768));
    const stopMark = w.mark();
    await agent.pass('event:kill');
    expect(changes(stopMark)).toEqual([call('DeregisterTargets', WEB, [`${HOST}:32768`])]);
  });
});

describe('Reconciler: the readiness gate', () => {
  const gatedAt = (id: string, port: number, ip: string) => {
    const c = container(id, port, [WEB], { health: 'starting', ipAddresses: [ip] });
    return { ...c, labels: { ...c.labels, 'ecs-anywhere-lb.readiness-gate': 'true' } };
  };

  it('answers 503 until a read at interval x healthy threshold shows the target healthy, then 200, latched through an outage and an address loss, until the container stops', async () => {
    const w = world({ fleetSize: 1, random: () => 0 });
    w.elb.healthCheck = { intervalSeconds: 5, healthyThreshold: 2 };
    const agent = w.start();
    await agent.pass('startup');
    const g = gatedAt('g1', 32768, '172.17.0.2');
    w.host.start(g);
    let result = await agent.pass('event:start');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    const ask = () => agent.reconciler.readiness({ sourceAddress: '172.17.0.2' });
    expect(ask()).toMatchObject({ ready: false, reason: `tg/web ${HOST}:32768 is initial` });
    expect(agent.reconciler.readiness({ sourceAddress: '172.17.0.99' })).toMatchObject({ ready: false, reason: expect.stringMatching(/^unknown caller/) });
    // The load balancer's checks pass; the agent reads the group when that can have happened: 2 x 5 s after the registration.
    w.elb.setState(WEB, `${HOST}:32768`, 'healthy');
    const reads = () => w.elb.callsOf('DescribeTargetHealth').length;
    const before = reads();
    let waited = 0;
    while (ask().ready === false && waited < 60_000) {
      const step = result.nextPassInMs as number;
      w.advance(step);
      waited += step;
      result = await agent.pass('scheduled');
    }
    expect(ask()).toMatchObject({ ready: true, reason: 'ready' });
    expect(waited).toBe(10_000);
    expect(reads() - before).toBe(1);
    // Latched: an unhealthy read (load balancer or VPN blip) and a lost address leave it open.
    w.elb.setState(WEB, `${HOST}:32768`, 'unhealthy');
    w.advance(60_000);
    await agent.pass('periodic');
    w.address.address = undefined;
    await agent.pass('address');
    expect(ask().ready).toBe(true);
    // Stopping closes it.
    w.host.stopping(g);
    await agent.pass('event:kill');
    expect(ask()).toMatchObject({ ready: false, reason: 'stopping' });
  });
});
