// --dry-run as wrappers: a registry that reads through and only pretends to change, and a
// state port that loads the real state once and keeps every save in memory.
import { describe, expect, it } from 'vitest';
import { EMPTY_STATE, STATE_VERSION, type AgentState, type StatePort } from '../../agent/core/state.ts';
import { DryRunRegistry, MemoryStatePort } from '../../agent/reconcile/dry-run.ts';
import { MemoryRegistry } from '../support/memory-registry.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';

/** A state port that counts what goes through it. */
class CountingStore implements StatePort {
  readonly path = '/var/lib/ecs-anywhere-lb-agent/state.json';
  loads = 0;
  saves: AgentState[] = [];
  constructor(private state: AgentState) {}
  load(): Promise<AgentState> {
    this.loads++;
    return Promise.resolve(this.state);
  }
  save(state: AgentState): Promise<void> {
    this.saves.push(state);
    this.state = state;
    return Promise.resolve();
  }
}

describe('DryRunRegistry', () => {
  it('says its changes are simulated', () => {
    expect(new DryRunRegistry(new MemoryRegistry()).simulated).toBe(true);
  });

  it('reads through to the real registry', async () => {
    const elb = new MemoryRegistry();
    elb.put(TG, '10.8.0.11:32768');
    const dry = new DryRunRegistry(elb);
    expect(await dry.describeTargets(TG)).toEqual([{ id: '10.8.0.11', port: 32768, state: 'healthy' }]);
    expect((await dry.describeGroup(TG)).arn).toBe(TG);
    expect(elb.calls.map((c) => c.action)).toEqual(['DescribeTargetHealth', 'DescribeTargetGroups']);
  });

  it('pretends to register and deregister: the group is untouched and no change call is made', async () => {
    const elb = new MemoryRegistry();
    elb.put(TG, '10.8.0.10:32768');
    const dry = new DryRunRegistry(elb);
    await expect(dry.register(TG, [{ id: '10.8.0.10', port: 32769 }])).resolves.toBeUndefined();
    await expect(dry.deregister(TG, [{ id: '10.8.0.10', port: 32768 }])).resolves.toBeUndefined();
    expect(elb.holds(TG)).toEqual(['10.8.0.10:32768']);
    expect(elb.calls).toEqual([]);
  });

  it('lets read errors through (a dry run reports what a real one would meet)', async () => {
    const elb = new MemoryRegistry();
    elb.fail('permanent', { action: 'DescribeTargetHealth' });
    await expect(new DryRunRegistry(elb).describeTargets(TG)).rejects.toMatchObject({ code: 'AccessDenied', kind: 'permanent' });
  });
});

describe('MemoryStatePort', () => {
  const recorded: AgentState = { version: STATE_VERSION, addresses: ['10.8.0.10'], targets: [{ targetGroupArn: TG, id: '10.8.0.10', port: 32768 }] };

  it('loads the real state once, and names its path', async () => {
    const disk = new CountingStore(recorded);
    const mem = new MemoryStatePort(disk);
    expect(mem.path).toBe(disk.path);
    expect(await mem.load()).toEqual(recorded);
    expect(await mem.load()).toEqual(recorded);
    expect(disk.loads).toBe(1);
  });

  it('keeps saves in memory: later loads see them, the real state is never written', async () => {
    const disk = new CountingStore(recorded);
    const mem = new MemoryStatePort(disk);
    await mem.load();
    const next: AgentState = { ...recorded, targets: [] };
    await mem.save(next);
    expect(await mem.load()).toEqual(next);
    expect(disk.saves).toEqual([]);
    expect(await disk.load()).toEqual(recorded);
  });

  it('a save before any load wins over the real state, which is then never read', async () => {
    const disk = new CountingStore(recorded);
    const mem = new MemoryStatePort(disk);
    await mem.save(EMPTY_STATE);
    expect(await mem.load()).toEqual(EMPTY_STATE);
    expect(disk.loads).toBe(0);
    expect(disk.saves).toEqual([]);
  });
});
