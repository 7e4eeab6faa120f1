// `deregister --all` with nothing of ours to deregister answers at once, without reading a
// single target group (so without credentials); otherwise it asks the reconciler.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deregisterAll, nothingToDeregister } from '../../agent/commands/deregister.ts';
import type { Parts } from '../../agent/commands/parts.ts';
import type { AddressChoice } from '../../agent/core/address.ts';
import { EMPTY_STATE, type AgentState } from '../../agent/core/state.ts';

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const target = { targetGroupArn: ARN, id: '10.8.0.10', port: 32768 };
const state = (addresses: string[], targets: AgentState['targets'] = []): AgentState => ({ ...EMPTY_STATE, addresses, targets });

describe('nothingToDeregister', () => {
  it.each<[string, AgentState, AddressChoice, RegExp | undefined]>([
    ['never ran, no usable address', EMPTY_STATE, { problem: 'interface tun0 is down or has no IPv4 address' }, /no current address \(interface tun0 is down/],
    ['never ran, an address on the LAN', EMPTY_STATE, { address: '192.168.1.20', interface: 'eth0' }, /never registered on 192\.168\.1\.20/],
    ['ran on an older address only, nothing recorded', state(['10.8.0.9']), { address: '10.8.0.10' }, /never registered on 10\.8\.0\.10/],
    ['ran on this address, nothing recorded: a target may be there unrecorded', state(['10.8.0.10']), { address: '10.8.0.10' }, undefined],
    ['a recorded target, no address now', state(['10.8.0.10'], [target]), { problem: 'down' }, undefined],
    ['a recorded target on this address', state(['10.8.0.10'], [target]), { address: '10.8.0.10' }, undefined],
  ])('%s', (_case, s, choice, expected) => {
    const reason = nothingToDeregister(s, choice);
    if (expected === undefined) expect(reason).toBeUndefined();
    else expect(reason).toMatch(expected);
  });
});

describe('deregisterAll', () => {
  afterEach(() => vi.restoreAllMocks());

  const run = async (s: AgentState, choice: AddressChoice) => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const reconcilerDeregisterAll = vi.fn(() => Promise.resolve({ deregistered: [target], failed: 0 }));
    const parts = {
      reconciler: { currentState: () => Promise.resolve(s), deregisterAll: reconcilerDeregisterAll },
      addresses: { current: () => Promise.resolve(choice) },
    } as unknown as Parts;
    const code = await deregisterAll(parts);
    return { code, out: out.join(''), asked: reconcilerDeregisterAll.mock.calls.length };
  };

  it('succeeds at once on a host that never ran the agent: no group read, no call', async () => {
    const r = await run(EMPTY_STATE, { address: '192.168.1.20' });
    expect(r).toEqual({ code: 0, asked: 0, out: 'nothing to deregister: no target recorded, and this host never registered on 192.168.1.20\n0 target(s) deregistered\n' });
  });

  it('asks the reconciler when a recorded target may still be registered', async () => {
    const r = await run(state(['10.8.0.10'], [target]), { address: '10.8.0.10' });
    expect(r.code).toBe(0);
    expect(r.asked).toBe(1);
    expect(r.out).toBe(`deregistered ${ARN} 10.8.0.10:32768\n1 target(s) deregistered\n`);
  });
});
