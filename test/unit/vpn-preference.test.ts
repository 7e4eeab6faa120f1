// The VPN preference across restarts, as the address source sees it: told by the state that
// this host registers tun0's address, a fresh source waits for a VPN interface instead of
// taking the default route; --interface and --host-ip ignore it.
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createAddressSource, type AddressPolicy, type HostNetwork } from '../../agent/host/address-source.ts';

const v4 = (address: string): NetworkInterfaceInfo => ({ address, family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '02:42:ac:11:00:02', cidr: `${address}/24` });
const network = (interfaces: Record<string, string>): HostNetwork => ({
  interfaces: () => Object.fromEntries(Object.entries(interfaces).map(([name, a]) => [name, [v4(a)]])),
  defaultRouteInterface: async () => 'eth0',
});
const policy = (p: Partial<AddressPolicy> = {}): AddressPolicy => ({ allowAnyAddress: false, vpcCidrs: [], ...p });

describe('preferVpn', () => {
  it.each<[string, Partial<AddressPolicy>, string | undefined, Record<string, string>, { address?: string; problem?: string }]>([
    ['auto, told tun0, only the LAN up: waits, naming tun0 and the address it does not take', {}, 'tun0', { eth0: '192.168.1.20' }, { problem: 'VPN interface tun0 is down or has no IPv4 address; waiting for it instead of falling back to 192.168.1.20 on eth0' }],
    ['auto, told tun0, tun0 up again: its address', {}, 'tun0', { eth0: '192.168.1.20', tun0: '10.8.0.10' }, { address: '10.8.0.10' }],
    ['auto, told tun0, another VPN up: that one', {}, 'tun0', { eth0: '192.168.1.20', wg0: '10.9.0.3' }, { address: '10.9.0.3' }],
    ['auto, told nothing: the LAN', {}, undefined, { eth0: '192.168.1.20' }, { address: '192.168.1.20' }],
    ['auto, told a name that is no VPN interface: ignored', {}, 'eth0', { eth0: '192.168.1.20' }, { address: '192.168.1.20' }],
    ['--interface eth0 ignores it', { interface: 'eth0' }, 'tun0', { eth0: '192.168.1.20' }, { address: '192.168.1.20' }],
    ['--host-ip ignores it', { hostIp: '10.0.0.5' }, 'tun0', { eth0: '192.168.1.20' }, { address: '10.0.0.5' }],
  ])('%s', async (_case, p, told, interfaces, expected) => {
    const source = createAddressSource(policy(p), network(interfaces));
    if (told !== undefined) source.preferVpn?.(told);
    const choice = await source.current();
    expect(choice.address).toBe(expected.address);
    if (expected.problem !== undefined) expect(choice.problem).toContain(expected.problem);
    else expect(choice.problem).toBeUndefined();
  });
});
