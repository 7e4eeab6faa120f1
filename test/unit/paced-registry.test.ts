// Every call through the paced registry waits for this host's pace of its class and tells
// the pace how it ended: a throttled call halves the class's rate (and is reported), an
// answer lets it recover, any other failure does neither. A real ApiPace on a hand-moved clock.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ELB_API_LIMITS, type ApiClass } from '../../agent/fleet/api-budget.ts';
import { ApiPace } from '../../agent/fleet/api-pace.ts';
import { PacedRegistry } from '../../agent/fleet/paced-registry.ts';
import { OperationError } from '../../agent/errors.ts';
import type { TargetRegistry } from '../../agent/core/target-registry.ts';
import { MemoryRegistry, type RegistryAction } from '../support/memory-registry.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const TARGET = { id: '10.8.0.10', port: 32768 };
const FLEET = 100;

function paced(inner: TargetRegistry = new MemoryRegistry()) {
  let t = 1_000_000;
  const pace = new ApiPace({ limits: DEFAULT_ELB_API_LIMITS, fleetSize: FLEET, now: () => t, random: () => 0.5 });
  const throttled: ApiClass[] = [];
  const registry = new PacedRegistry(inner, pace, (cls) => throttled.push(cls));
  return { registry, pace, throttled, advance: (ms: number) => (t += ms) };
}

// Each method, the action the registry sees, and the class it draws from.
const METHODS: [string, RegistryAction, ApiClass, (r: TargetRegistry) => Promise<unknown>][] = [
  ['describeTargets', 'DescribeTargetHealth', 'describe', (r) => r.describeTargets(TG)],
  ['describeGroup', 'DescribeTargetGroups', 'describe', (r) => r.describeGroup(TG)],
  ['register', 'RegisterTargets', 'change', (r) => r.register(TG, [TARGET])],
  ['deregister', 'DeregisterTargets', 'change', (r) => r.deregister(TG, [TARGET])],
];
const other = (cls: ApiClass): ApiClass => (cls === 'change' ? 'describe' : 'change');

describe('PacedRegistry', () => {
  afterEach(() => vi.useRealTimers());

  it.each(METHODS)('%s goes through to %s and answers what the registry answered', async (_m, action, _cls, call) => {
    const elb = new MemoryRegistry();
    elb.put(TG, '10.8.0.10:32768');
    const { registry } = paced(elb);
    const direct = await call(elbCopy(elb));
    expect(await call(registry)).toEqual(direct);
    expect(elb.calls.map((c) => c.action)).toEqual([action]);
  });

  it.each(METHODS)('%s (%s): a throttled answer halves the rate of its class only, holds the class, reports it and is thrown on', async (_m, action, cls, call) => {
    const elb = new MemoryRegistry();
    elb.fail('throttled', { action });
    const { registry, pace, throttled } = paced(elb);
    const full = pace.rates();
    await expect(call(registry)).rejects.toMatchObject({ code: 'Throttling', kind: 'throttled' });
    expect(pace.rates()[cls]).toBeCloseTo(full[cls] / 2, 9);
    expect(pace.rates()[other(cls)]).toBe(full[other(cls)]);
    expect(throttled).toEqual([cls]);
    expect(pace.delayMs(cls)).toBeGreaterThan(0);
    expect(pace.delayMs(other(cls))).toBe(0);
  });

  it.each(METHODS)('%s (%s): an answer after throttles lets the rate of its class recover', async (_m, action, cls, call) => {
    const elb = new MemoryRegistry();
    elb.fail('throttled', { action, times: 2 });
    const { registry, pace, advance } = paced(elb);
    const full = pace.rates()[cls];
    await expect(call(registry)).rejects.toThrow();
    advance(pace.delayMs(cls));
    await expect(call(registry)).rejects.toThrow();
    const slowed = pace.rates()[cls];
    expect(slowed).toBeCloseTo(full / 4, 9);
    advance(pace.delayMs(cls));
    await call(registry);
    expect(pace.rates()[cls]).toBeGreaterThan(slowed);
    expect(pace.rates()[cls]).toBeLessThanOrEqual(full);
  });

  it.each<[string, () => Error]>([
    ['a transient OperationError', () => new OperationError('RegisterTargets', 'tg/web', 'ServiceUnavailable', 'transient', 'down')],
    ['a permanent OperationError', () => new OperationError('RegisterTargets', 'tg/web', 'AccessDenied', 'permanent', 'no')],
    ['an InvalidTarget refusal', () => new OperationError('RegisterTargets', 'tg/web', 'InvalidTarget', 'permanent', 'bad target')],
    ['a plain Error named Throttling (not an OperationError)', () => Object.assign(new Error('rate exceeded'), { name: 'Throttling', code: 'Throttling' })],
  ])('%s neither slows the pace down nor lets it recover, and is not reported as throttled', async (_name, make) => {
    const inner = scripted([new OperationError('RegisterTargets', 'tg/web', 'Throttling', 'throttled', 'Rate exceeded'), make()]);
    const { registry, pace, throttled, advance } = paced(inner);
    await expect(registry.register(TG, [TARGET])).rejects.toMatchObject({ kind: 'throttled' });
    const slowed = pace.rates();
    advance(pace.delayMs('change'));
    await expect(registry.register(TG, [TARGET])).rejects.toThrow(make().message);
    expect(pace.rates()).toEqual(slowed);
    expect(throttled).toEqual(['change']);
  });

  it('a call beyond the burst waits for the pace before it reaches the registry', async () => {
    vi.useFakeTimers({ now: 0 });
    const elb = new MemoryRegistry();
    const pace = new ApiPace({ limits: { change: { perSecond: 1, burst: 1 }, describe: { perSecond: 1, burst: 1 } }, fleetSize: 1, random: () => 0.5 });
    const registry = new PacedRegistry(elb, pace);
    await registry.register(TG, [TARGET]);
    const second = registry.deregister(TG, [TARGET]);
    await vi.advanceTimersByTimeAsync(999);
    expect(elb.callsOf('DeregisterTargets')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await second;
    expect(elb.callsOf('DeregisterTargets')).toHaveLength(1);
    // The other class had its own bucket all along.
    await registry.describeTargets(TG);
    expect(elb.callsOf('DescribeTargetHealth')).toHaveLength(1);
  });

  it('prompt: a call the pace allows now goes; one beyond the burst is not sent and says when it could be, taking no token', async () => {
    vi.useFakeTimers({ now: 0 });
    const elb = new MemoryRegistry();
    const pace = new ApiPace({ limits: { change: { perSecond: 1, burst: 1 }, describe: { perSecond: 1, burst: 1 } }, fleetSize: 1, random: () => 0.5 });
    const registry = new PacedRegistry(elb, pace).prompt;
    await registry.register(TG, [TARGET]);
    await expect(registry.deregister(TG, [TARGET])).rejects.toMatchObject({ name: 'NotSent', retryInMs: 1000 });
    expect(elb.callsOf('DeregisterTargets')).toEqual([]);
    // Nothing was spent on the call not sent: the next token is there one refill later, not two.
    await vi.advanceTimersByTimeAsync(1000);
    await registry.deregister(TG, [TARGET]);
    expect(elb.callsOf('DeregisterTargets')).toHaveLength(1);
    expect(registry.prompt).toBe(registry);
  });

  it('says whether changes are simulated as the registry it wraps does', () => {
    expect(paced(new MemoryRegistry()).registry.simulated).toBeUndefined();
    expect(paced(scripted([], true)).registry.simulated).toBe(true);
  });
});

/** A registry whose calls end, one after the other, as scripted: an error is thrown, undefined answers. */
function scripted(outcomes: (Error | undefined)[], simulated?: boolean): TargetRegistry {
  const next = async () => {
    const err = outcomes.shift();
    if (err) throw err;
  };
  return {
    ...(simulated !== undefined ? { simulated } : {}),
    describeTargets: async () => (await next(), []),
    describeGroup: async (arn) => (await next(), { arn, name: 'web', targetType: 'ip' }),
    register: next,
    deregister: next,
  };
}

/** A registry holding the same targets, to compare answers against. */
function elbCopy(elb: MemoryRegistry): MemoryRegistry {
  const copy = new MemoryRegistry();
  copy.put(TG, ...elb.holds(TG));
  return copy;
}
