// The VPN preference survives a restart, for real: the agent runs inside a network namespace
// with a LAN interface (the default route) and a tun0, registers tun0's address (auto mode),
// and the state file records that it registers a VPN address. Restarted while tun0 is gone
// and the LAN is up, it registers nothing (not even a container started meanwhile) until the
// VPN is back, then moves everything to the tunnel's new address.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, targetLabels, type World } from '../support/agent-world.ts';
import { ensureAgentBundle, type AgentProcess } from '../support/agent-process.ts';
import type { EcsContainer } from '../support/ecs-container.ts';
import { createTestNetns, netnsUnavailableReason, type TestNetns } from '../support/netns.ts';
import { sleep } from '../support/wait.ts';

const unavailable = netnsUnavailableReason();
const LIVE = ['initial', 'healthy', 'unhealthy'];

let world: World;
let netns: TestNetns;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  if (unavailable) return;
  netns = await createTestNetns();
  world = await createWorld({ groups: ['vpn'], elb: { host: netns.rootAddress } });
});
afterEach(async () => {
  await agent?.stop('SIGKILL');
  agent = undefined;
});
afterAll(async () => {
  await world?.close();
  await netns?.remove();
});

/** The real agent inside the namespace, auto address mode, targets kept on exit (an agent restart). */
function startAgentInNetns(): AgentProcess {
  return world.startAgent({ ECS_ANYWHERE_LB_HOST_IP: undefined, ECS_ANYWHERE_LB_ADDRESS_CHECK_INTERVAL: '500ms' }, netns.exec(process.execPath, [ensureAgentBundle(), 'run']));
}

const on = (address: string, ...cs: EcsContainer[]) => cs.map((c) => `${address}:${c.hostPort()}`).sort();
const stateFile = () => JSON.parse(readFileSync(join(world.stateDir, 'state.json'), 'utf8')) as { vpnInterface?: string };

describe.skipIf(unavailable !== undefined)(`VPN preference across restarts${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('restarted with the VPN down and the LAN up, registers nothing until the VPN is back', async () => {
    const [L, T1, T2] = ['10.77.5.5', '10.77.6.6', '10.77.6.7'];
    await netns.addInterface('lan0', `${L}/24`);
    await netns.setDefaultRoute('lan0');
    await netns.addInterface('tun0', `${T1}/24`);
    const a = await world.startContainer({ family: 'vpn-a', dockerLabels: targetLabels(world.groups.vpn!) });
    agent = startAgentInNetns();
    await agent.ready();
    await world.waitForTargets('vpn', on(T1, a), 'registered on tun0', 15_000, LIVE);
    expect(stateFile().vpnInterface).toBe('tun0');

    // The agent restarts while the tunnel is down; a container starts meanwhile.
    await agent.stop('SIGTERM');
    await netns.removeInterface('tun0');
    const b = await world.startContainer({ family: 'vpn-b', dockerLabels: targetLabels(world.groups.vpn!) });
    const mark = world.elb.requestLog.length;
    agent = startAgentInNetns();
    await agent.ready();
    const waiting = await agent.waitForLog((l) => l.event === 'address' && l.problem !== undefined, 'no usable address: waiting for tun0');
    expect(String(waiting.problem)).toContain('VPN interface tun0 is down');
    expect(String(waiting.problem)).toContain(`instead of falling back to ${L} on lan0`);
    // A few address checks and a pass later: still nothing on the LAN address, nothing changed.
    await sleep(2_000);
    expect(world.elb.requestLog.slice(mark).filter((e) => e.action === 'RegisterTargets' || e.action === 'DeregisterTargets')).toEqual([]);
    expect(world.targets('vpn')).toEqual(on(T1, a));

    // The VPN is back with a new address: both containers there, the old target gone.
    await netns.addInterface('tun0', `${T2}/24`);
    await world.waitForTargets('vpn', on(T2, a, b), 'moved to the new tunnel address', 15_000, LIVE);
    expect(world.targets('vpn').filter((t) => t.startsWith(`${L}:`))).toEqual([]);
    expect(stateFile().vpnInterface).toBe('tun0');
  });
});
