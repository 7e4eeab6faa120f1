// Which address this host registers, from a fake host network; and the default route
// as read from /proc/net/route.
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { chooseAddress, createAddressSource, isVpnInterface, parseDefaultRoute, type AddressPolicy, type HostNetwork } from '../../agent/host/address-source.ts';
import { type AddressChoice } from '../../agent/core/address.ts';
import { parseCidr, type Cidr } from '../../agent/core/ipv4.ts';

type Addr = string | { address: string; family?: 'IPv4' | 'IPv6'; internal?: boolean };

/** A host network with these interfaces (name -> addresses) and default-route interface. */
function fakeNetwork(interfaces: Record<string, Addr[]>, defaultRoute?: string): HostNetwork {
  const info = (a: Addr): NetworkInterfaceInfo => {
    const spec: Exclude<Addr, string> = typeof a === 'string' ? { address: a } : a;
    const { address } = spec;
    const internal = spec.internal ?? false;
    const kind = spec.family ?? (address.includes(':') ? 'IPv6' : 'IPv4');
    return kind === 'IPv4'
      ? { address, family: kind, internal, netmask: '255.255.255.0', mac: '02:42:ac:11:00:02', cidr: `${address}/24` }
      : { address, family: kind, internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '02:42:ac:11:00:02', cidr: `${address}/64`, scopeid: 0 };
  };
  return {
    interfaces: () => Object.fromEntries(Object.entries(interfaces).map(([name, list]) => [name, list.map(info)])),
    defaultRouteInterface: async () => defaultRoute,
  };
}

const policy = (p: Partial<AddressPolicy> = {}): AddressPolicy => ({ allowAnyAddress: false, vpcCidrs: [], ...p });
const cidrs = (...list: string[]): Cidr[] => list.map((c) => parseCidr(c) as Cidr);

const LO: Addr[] = [{ address: '127.0.0.1', internal: true }, { address: '::1', family: 'IPv6', internal: true }];
const ETH0: Addr[] = ['192.168.1.20', 'fe80::42:acff:fe11:2'];
const TUN0: Addr[] = ['10.8.0.10'];
const WG0: Addr[] = ['10.9.0.3'];

describe('chooseAddress', () => {
  // [case, interfaces, default-route interface, policy, expected choice]
  const cases: [string, Record<string, Addr[]>, string | undefined, Partial<AddressPolicy>, AddressChoice][] = [
    ['explicit --host-ip, whatever the interfaces', { lo: LO, eth0: ETH0, tun0: TUN0 }, 'eth0', { hostIp: '10.0.0.5' }, { address: '10.0.0.5' }],
    ['explicit --host-ip with no interfaces at all', {}, undefined, { hostIp: '172.16.4.4' }, { address: '172.16.4.4' }],
    ['--interface present', { lo: LO, eth0: ETH0, eth1: ['10.20.0.7'] }, 'eth0', { interface: 'eth1' }, { address: '10.20.0.7', interface: 'eth1' }],
    ['--interface present, not the VPN one auto would pick', { eth0: ETH0, tun0: TUN0 }, 'eth0', { interface: 'eth0' }, { address: '192.168.1.20', interface: 'eth0' }],
    ['--interface prefers a non-internal IPv4 address', { br0: [{ address: '127.0.0.2', internal: true }, '10.1.1.1'] }, undefined, { interface: 'br0' }, { address: '10.1.1.1', interface: 'br0' }],
    ['--interface absent', { lo: LO, eth0: ETH0 }, 'eth0', { interface: 'tun0' }, { interface: 'tun0', problem: 'interface tun0 is down or has no IPv4 address' }],
    ['--interface with only IPv6', { eth0: ETH0, tun0: ['fd00::10'] }, 'eth0', { interface: 'tun0' }, { interface: 'tun0', problem: 'interface tun0 is down or has no IPv4 address' }],
    ['auto: an up tun* beats the default-route interface', { lo: LO, eth0: ETH0, tun0: TUN0 }, 'eth0', {}, { address: '10.8.0.10', interface: 'tun0' }],
    ['auto: an up wg* beats the default-route interface', { lo: LO, eth0: ETH0, wg0: WG0 }, 'eth0', {}, { address: '10.9.0.3', interface: 'wg0' }],
    ['auto: a VPN interface even when it is not listed first', { wg1: WG0, eth0: ETH0 }, 'eth0', {}, { address: '10.9.0.3', interface: 'wg1' }],
    ['auto: tun* and wg* both up: the first by name', { wg0: WG0, tun0: TUN0, eth0: ETH0 }, 'eth0', {}, { address: '10.8.0.10', interface: 'tun0' }],
    ['auto: a VPN interface with only IPv6 is passed over', { eth0: ETH0, tun0: ['fd00::10'] }, 'eth0', {}, { address: '192.168.1.20', interface: 'eth0' }],
    ['auto: no VPN, the default-route interface', { lo: LO, docker0: ['172.17.0.1'], eth0: ETH0 }, 'eth0', {}, { address: '192.168.1.20', interface: 'eth0' }],
    ['auto: a non-VPN name merely containing "tun" is not a VPN', { eth0: ETH0, 'br-tun0': ['10.77.0.1'] }, 'eth0', {}, { address: '192.168.1.20', interface: 'eth0' }],
  ];

  it.each(cases)('%s', async (_case, interfaces, route, p, expected) => {
    expect(await chooseAddress(policy(p), fakeNetwork(interfaces, route))).toStrictEqual(expected);
  });

  it.each<[string, Record<string, Addr[]>, string | undefined]>([
    ['no VPN and no default route', { lo: LO, eth0: ETH0 }, undefined],
    ['the default-route interface has no IPv4 address', { lo: LO, eth0: ['2001:db8::5'] }, 'eth0'],
    ['the default route names an interface that is gone', { lo: LO }, 'eth0'],
  ])('auto with %s: no address, a problem naming the ways out', async (_case, interfaces, route) => {
    const choice = await chooseAddress(policy(), fakeNetwork(interfaces, route));
    expect(choice.address).toBeUndefined();
    expect(choice.problem).toContain('set --interface or --host-ip');
  });

  // [case, interfaces, default route, policy, address, interface, fragment of the problem]
  const refused: [string, Record<string, Addr[]>, string | undefined, Partial<AddressPolicy>, string, string | undefined, string][] = [
    ['a loopback --host-ip', {}, undefined, { hostIp: '127.0.0.1' }, '127.0.0.1', undefined, 'loopback'],
    ['a public --host-ip', {}, undefined, { hostIp: '203.0.113.7' }, '203.0.113.7', undefined, 'public address'],
    ['the loopback interface', { lo: LO }, undefined, { interface: 'lo' }, '127.0.0.1', 'lo', 'loopback'],
    ['a public default-route address', { eth0: ['198.51.100.20'] }, 'eth0', {}, '198.51.100.20', 'eth0', 'public address'],
    ['a link-local default-route address', { eth0: ['169.254.10.20'] }, 'eth0', {}, '169.254.10.20', 'eth0', 'link-local'],
  ];

  it.each(refused)('refuses %s unless --allow-any-address', async (_case, interfaces, route, p, address, iface, fragment) => {
    const net = fakeNetwork(interfaces, route);
    const choice = await chooseAddress(policy(p), net);
    expect(choice.address).toBeUndefined();
    expect(choice.interface).toBe(iface);
    expect(choice.problem).toContain(`a load balancer cannot target ${address}${iface ? ` (${iface})` : ''}: `);
    expect(choice.problem).toContain(fragment);
    expect(choice.problem).toContain('--allow-any-address');

    const allowed = await chooseAddress(policy({ ...p, allowAnyAddress: true }), net);
    expect(allowed).toStrictEqual({ address, ...(iface ? { interface: iface } : {}) });
  });

  it('accepts a public-looking address inside the VPC CIDRs', async () => {
    const net = fakeNetwork({ eth0: ['198.51.100.20'] }, 'eth0');
    expect(await chooseAddress(policy({ vpcCidrs: cidrs('10.0.0.0/16', '198.51.100.0/24') }), net)).toStrictEqual({ address: '198.51.100.20', interface: 'eth0' });
  });

});

describe('createAddressSource', () => {
  /** A host network whose interfaces the test changes between calls; the default route stays on eth0. */
  const changingNetwork = (initial: Record<string, Addr[]>) => {
    const state = { interfaces: initial };
    const net: HostNetwork = { interfaces: () => fakeNetwork(state.interfaces).interfaces(), defaultRouteInterface: async () => 'eth0' };
    return { net, set: (next: Record<string, Addr[]>) => (state.interfaces = next) };
  };

  it('asks the host anew on every call', async () => {
    const host = changingNetwork({ eth0: ETH0 });
    const source = createAddressSource(policy(), host.net);
    expect(await source.current()).toStrictEqual({ address: '192.168.1.20', interface: 'eth0', vpn: false });
    host.set({ eth0: ETH0, tun0: TUN0 });
    expect(await source.current()).toStrictEqual({ address: '10.8.0.10', interface: 'tun0', vpn: true });
    host.set({ eth0: ETH0, tun0: ['10.8.0.22'] });
    expect(await source.current()).toStrictEqual({ address: '10.8.0.22', interface: 'tun0', vpn: true });
  });

  it('in auto mode, once a VPN address was used, waits for the VPN instead of falling back to the default route', async () => {
    const host = changingNetwork({ eth0: ETH0, tun0: TUN0 });
    const source = createAddressSource(policy(), host.net);
    expect(await source.current()).toStrictEqual({ address: '10.8.0.10', interface: 'tun0', vpn: true });

    host.set({ eth0: ETH0 }); // the VPN reconnects
    const during = await source.current();
    expect(during.address).toBeUndefined();
    expect(during.interface).toBe('tun0');
    expect(during.problem).toContain('VPN interface tun0 is down');
    expect(during.problem).toContain('192.168.1.20 on eth0');

    host.set({ eth0: ETH0, tun0: TUN0 });
    expect(await source.current()).toStrictEqual({ address: '10.8.0.10', interface: 'tun0', vpn: true });
  });

  it('in auto mode follows the VPN to another VPN interface', async () => {
    const host = changingNetwork({ eth0: ETH0, tun0: TUN0 });
    const source = createAddressSource(policy(), host.net);
    await source.current();
    host.set({ eth0: ETH0, wg0: WG0 });
    expect(await source.current()).toStrictEqual({ address: '10.9.0.3', interface: 'wg0', vpn: true });
  });

  it('with --interface or --host-ip, reports exactly what the host shows', async () => {
    const host = changingNetwork({ eth0: ETH0, tun0: TUN0 });
    const byInterface = createAddressSource(policy({ interface: 'tun0' }), host.net);
    const byIp = createAddressSource(policy({ hostIp: '10.0.0.5' }), host.net);
    expect(await byInterface.current()).toStrictEqual({ address: '10.8.0.10', interface: 'tun0' });
    host.set({ eth0: ETH0 });
    expect(await byInterface.current()).toStrictEqual({ interface: 'tun0', problem: 'interface tun0 is down or has no IPv4 address' });
    expect(await byIp.current()).toStrictEqual({ address: '10.0.0.5' });
  });
});

describe('isVpnInterface', () => {
  it.each([
    ['tun0', true],
    ['tun', true],
    ['tun12', true],
    ['wg0', true],
    ['wg-office', true],
    ['tap1', true],
    ['eth0', false],
    ['ens5', false],
    ['docker0', false],
    ['br-tun0', false],
    ['vethtun0', false],
    ['lo', false],
  ])('%s: %s', (name, expected) => {
    expect(isVpnInterface(name)).toBe(expected);
  });
});

describe('parseDefaultRoute', () => {
  const HEADER = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       ';
  const route = (iface: string, dest: string, gw: string, flags: string, metric: number, mask: string) =>
    `${iface}\t${dest}\t${gw}\t${flags}\t0\t0\t${metric}\t${mask}\t0\t0\t0                                                                               `;
  const table = (...rows: string[]) => `${[HEADER, ...rows].join('\n')}\n`;

  it.each<[string, string, string | undefined]>([
    ['a single default route', table(route('eth0', '00000000', '0101A8C0', '0003', 100, '00000000'), route('eth0', '0001A8C0', '00000000', '0001', 100, '00FFFFFF')), 'eth0'],
    [
      'several defaults: the lowest metric wins, wherever it is listed',
      table(
        route('wlan0', '00000000', '0101A8C0', '0003', 600, '00000000'),
        route('eth0', '00000000', '0100000A', '0003', 100, '00000000'),
        route('usb0', '00000000', '012A2A0A', '0003', 700, '00000000'),
      ),
      'eth0',
    ],
    ['equal metrics: the first listed', table(route('eth1', '00000000', '0100000A', '0003', 0, '00000000'), route('eth0', '00000000', '0101A8C0', '0003', 0, '00000000')), 'eth1'],
    [
      'a default route that is not up is ignored, even with a lower metric',
      table(route('eth9', '00000000', '0101A8C0', '0002', 0, '00000000'), route('eth0', '00000000', '0100000A', '0003', 100, '00000000')),
      'eth0',
    ],
    [
      'OpenVPN def1 half routes (0/1, 128/1) are not default routes',
      table(route('tun0', '00000000', '0100080A', '0003', 0, '00000080'), route('tun0', '00000080', '0100080A', '0003', 0, '00000080'), route('eth0', '00000000', '0101A8C0', '0003', 100, '00000000')),
      'eth0',
    ],
    ['a more specific route with a lower metric is not the default', table(route('eth1', '0000000A', '00000000', '0001', 0, '000000FF'), route('eth0', '00000000', '0101A8C0', '0003', 100, '00000000')), 'eth0'],
    ['no default route', table(route('eth0', '0001A8C0', '00000000', '0001', 100, '00FFFFFF')), undefined],
    ['only a default route that is down', table(route('eth0', '00000000', '0101A8C0', '0002', 100, '00000000')), undefined],
    ['the header alone', `${HEADER}\n`, undefined],
    ['an empty file', '', undefined],
    ['a default route in the header position is not read', `${route('eth0', '00000000', '0101A8C0', '0003', 100, '00000000')}\n`, undefined],
  ])('%s', (_case, text, expected) => {
    expect(parseDefaultRoute(text)).toBe(expected);
  });
});
