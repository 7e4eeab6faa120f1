// The target writer (reconcile/target-writer.ts) with an in-memory ELBv2 whose calls can be held
// open: a group's stop goes out while another group's registration is still in flight, the
// registrations go one group after another, and a stop waits only for the pace.
import { describe, expect, it } from 'vitest';
import { EMPTY_STATE, type AgentState, type StatePort } from '../../agent/core/state.ts';
import type { TargetRef } from '../../agent/core/target-registry.ts';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import { ApiPace } from '../../agent/fleet/api-pace.ts';
import { PacedRegistry } from '../../agent/fleet/paced-registry.ts';
import type { Log } from '../../agent/log.ts';
import type { DesiredEndpoint } from '../../agent/mapping/desired.ts';
import { GroupBackoff } from '../../agent/reconcile/group-backoff.ts';
import { GroupReader } from '../../agent/reconcile/group-reader.ts';
import type { GroupPlan } from '../../agent/reconcile/plan.ts';
import { StateKeeper } from '../../agent/reconcile/state-keeper.ts';
import { TargetWriter } from '../../agent/reconcile/target-writer.ts';
import { ZoneChooser } from '../../agent/reconcile/zone-chooser.ts';
import { NO_TRACE } from '../../agent/trace.ts';
import { MemoryRegistry } from '../support/memory-registry.ts';

const WEB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const API = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const HOST = '10.8.0.10';
const quiet: Log = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => quiet };

/** An in-memory ELBv2 whose RegisterTargets wait until released; every call's start and end in order. */
class HeldRegistry extends MemoryRegistry {
  readonly events: string[] = [];
  private readonly releases: (() => void)[] = [];
  override async register(arn: string, targets: readonly TargetRef[]): Promise<void> {
    const name = arn.split('/')[1];
    this.events.push(`register ${name} sent`);
    await new Promise<void>((resolve) => this.releases.push(resolve));
    await super.register(arn, targets);
    this.events.push(`register ${name} answered`);
  }
  override async deregister(arn: string, targets: readonly TargetRef[]): Promise<void> {
    this.events.push(`deregister ${arn.split('/')[1]} sent`);
    await super.deregister(arn, targets);
  }
  /** Answers the oldest RegisterTargets still open. */
  release(): void {
    this.releases.shift()?.();
  }
}

class MemoryStore implements StatePort {
  readonly path = '/var/lib/ecs-anywhere-lb-agent/state.json';
  saved: AgentState = EMPTY_STATE;
  load(): Promise<AgentState> {
    return Promise.resolve(this.saved);
  }
  save(state: AgentState): Promise<void> {
    this.saved = structuredClone(state);
    return Promise.resolve();
  }
}

function writer(limits = DEFAULT_ELB_API_LIMITS) {
  const now = () => 1_700_000_000_000;
  const registry = new HeldRegistry();
  const pace = new ApiPace({ limits, fleetSize: 1, now, random: () => 0.5 });
  const backoff = new GroupBackoff({ log: quiet, now });
  const store = new MemoryStore();
  const keeper = new StateKeeper({ store, log: quiet, retry: { baseMs: 1000, capMs: 30_000 }, now, random: () => 0.5 });
  // As the agent wires it (wiring.ts): every call through this host's pace.
  const paced = new PacedRegistry(registry, pace);
  const reader = new GroupReader({ registry: paced, pace, backoff, log: quiet, now, random: () => 0.5 });
  const zones = new ZoneChooser({ registry: paced, keeper, log: quiet });
  const w = new TargetWriter({ registry: paced, pace, backoff, keeper, store, reader, zones, log: quiet, tracer: NO_TRACE, now, refusedForMs: 60_000 });
  return { registry, pace, writer: w };
}

const ep = (targetGroupArn: string, port: number): DesiredEndpoint => ({ targetGroupArn, port, containerId: `c${port}`, containerName: `app-${port}` });
const starts = (arn: string, ...ports: number[]): GroupPlan => ({ targetGroupArn: arn, register: ports.map((port) => ({ target: { id: HOST, port }, endpoint: ep(arn, port) })), deregister: [] });
const stops = (arn: string, ...ports: number[]): GroupPlan => ({ targetGroupArn: arn, register: [], deregister: ports.map((port) => ({ target: { id: HOST, port }, why: 'not-desired' as const })) });
const context = { containers: [], reasons: ['test'], mode: 'pass' as const, recorded: [] };
/** Lets every pending promise callback run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('TargetWriter.writeAll', () => {
  it("a group's stop goes out while another group's registration is still in flight", async () => {
    const { registry, writer: w } = writer();
    const done = w.writeAll([starts(WEB, 1), stops(API, 2)], context);
    await settle();
    // Both out, the registration not answered yet.
    expect([...registry.events].sort()).toEqual(['deregister api sent', 'register web sent']);
    registry.release();
    const out = await done;
    expect(registry.events.at(-1)).toBe('register web answered');
    expect([...out.keys()].sort()).toEqual([API, WEB].sort());
    expect(out.get(API)?.removed.size).toBe(1);
    expect(out.get(WEB)?.added.map((t) => t.port)).toEqual([1]);
  });

  it("a group's stop does not wait for its own group's registration either (one call per direction)", async () => {
    const { registry, writer: w } = writer();
    const done = w.writeAll([{ ...starts(WEB, 1), deregister: stops(WEB, 2).deregister }], context);
    await settle();
    expect([...registry.events].sort()).toEqual(['deregister web sent', 'register web sent']);
    registry.release();
    const out = (await done).get(WEB);
    expect({ added: out?.added.length, removed: out?.removed.size }).toEqual({ added: 1, removed: 1 });
  });

  it('registrations go one group after another: the next only once the first is answered', async () => {
    const { registry, writer: w } = writer();
    const done = w.writeAll([starts(WEB, 1), starts(API, 2)], context);
    await settle();
    expect(registry.events).toEqual(['register web sent']);
    registry.release();
    await settle();
    expect(registry.events).toEqual(['register web sent', 'register web answered', 'register api sent']);
    registry.release();
    await done;
  });

  it('a stop waits only for the pace: with no token left its group is deferred until one is, and nothing is sent', async () => {
    const { registry, pace, writer: w } = writer({ ...DEFAULT_ELB_API_LIMITS, change: { perSecond: 4, burst: 1 } });
    pace.reserve('change');
    const out = (await w.writeAll([stops(API, 2, 3)], context)).get(API);
    expect(registry.events).toEqual([]);
    expect(out?.waitMs).toBe(250);
  });

  it('with tokens left for only some calls, those go and the rest of the group waits for the pace', async () => {
    const { registry, pace, writer: w } = writer({ ...DEFAULT_ELB_API_LIMITS, change: { perSecond: 4, burst: 3 } });
    pace.reserve('change');
    const out = (await w.writeAll([stops(API, ...Array.from({ length: 450 }, (_, i) => 1000 + i))], context)).get(API);
    expect(registry.callsOf('DeregisterTargets').map((c) => c.targets.length)).toEqual([200]);
    expect(out?.removed.size).toBe(200);
    expect(out).toMatchObject({ failed: 0, waitMs: 250 });
  });

  it("a group's stops go in calls of at most 200 targets, in order", async () => {
    const { registry, writer: w } = writer();
    const ports = Array.from({ length: 450 }, (_, i) => 1000 + i);
    const out = (await w.writeAll([stops(API, ...ports)], context)).get(API);
    const calls = registry.callsOf('DeregisterTargets');
    expect(calls.map((c) => c.targets.length)).toEqual([200, 200, 50]);
    expect(calls.flatMap((c) => c.targets)).toEqual(ports.map((port) => `${HOST}:${port}`));
    expect(out).toMatchObject({ failed: 0, removed: new Set(ports.map((port) => `${API}|${HOST}|${port}`)) });
  });
});
