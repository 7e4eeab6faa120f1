/**
 * Which address this host registers. Explicit (--host-ip), an interface (--interface), or
 * auto: an up VPN interface (tun*, wg*, tap*), else the default-route interface (but once a
 * VPN interface was used, its absence means "no address", not the default route). Addresses
 * a load balancer cannot target are refused unless allowed.
 */
import { readFile } from 'node:fs/promises';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { AddressChoice, AddressSource } from '../core/address.ts';
import { untargetableReason, type Cidr } from '../core/ipv4.ts';


export interface AddressPolicy {
  readonly hostIp?: string;
  readonly interface?: string;
  readonly allowAnyAddress: boolean;
  readonly vpcCidrs: readonly Cidr[];
}

/** Reads interfaces and the routing table; injectable for tests. */
export interface HostNetwork {
  interfaces(): Record<string, NetworkInterfaceInfo[] | undefined>;
  defaultRouteInterface(): Promise<string | undefined>;
}

/** Parses /proc/net/route: the interface of the lowest-metric default route. */
export function parseDefaultRoute(text: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const [iface, destination, , flags, , , metric, mask] = cols;
    if (!iface || destination !== '00000000' || mask !== '00000000') continue;
    if ((Number.parseInt(flags ?? '0', 16) & 1) === 0) continue; // RTF_UP
    const m = Number(metric ?? 0);
    if (!best || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface;
}

/** The live host network of this process. */
export const systemNetwork: HostNetwork = {
  interfaces: () => networkInterfaces(),
  async defaultRouteInterface() {
    try {
      return parseDefaultRoute(await readFile('/proc/net/route', 'utf8'));
    } catch {
      return undefined;
    }
  },
};

const VPN_INTERFACE = /^(tun|wg|tap)/;

function firstIpv4(list: NetworkInterfaceInfo[] | undefined): string | undefined {
  return list?.find((a) => a.family === 'IPv4' && !a.internal)?.address ?? list?.find((a) => a.family === 'IPv4')?.address;
}

/** Picks the address according to the policy, from what the host network shows. */
export async function chooseAddress(policy: AddressPolicy, net: HostNetwork): Promise<AddressChoice> {
  let choice: AddressChoice;
  // Listing the interfaces costs a syscall per address, and a host with many containers has a veth each: only when needed.
  const all = policy.hostIp === undefined ? net.interfaces() : {};
  if (policy.hostIp !== undefined) {
    choice = { address: policy.hostIp };
  } else if (policy.interface !== undefined) {
    const address = firstIpv4(all[policy.interface]);
    choice = address
      ? { address, interface: policy.interface }
      : { interface: policy.interface, problem: `interface ${policy.interface} is down or has no IPv4 address` };
  } else {
    const vpn = Object.keys(all)
      .filter((name) => VPN_INTERFACE.test(name) && firstIpv4(all[name]) !== undefined)
      .sort()[0];
    const name = vpn ?? (await net.defaultRouteInterface());
    const address = name !== undefined ? firstIpv4(all[name]) : undefined;
    choice = name !== undefined && address !== undefined
      ? { address, interface: name }
      : { problem: 'no VPN interface (tun*/wg*) is up and no default route has an IPv4 address; set --interface or --host-ip' };
  }
  if (choice.address !== undefined && !policy.allowAnyAddress) {
    const reason = untargetableReason(choice.address, policy.vpcCidrs);
    if (reason) {
      return { ...(choice.interface ? { interface: choice.interface } : {}), problem: `a load balancer cannot target ${choice.address}${choice.interface ? ` (${choice.interface})` : ''}: ${reason} (--allow-any-address overrides)` };
    }
  }
  return choice;
}

/** Whether auto mode treats this interface as a VPN (preferred over the default route). */
export function isVpnInterface(name: string): boolean {
  return VPN_INTERFACE.test(name);
}

/**
 * The address source the agent runs with: asks the host anew on every call. In auto mode it
 * remembers that it registered a VPN interface's address; when no VPN interface is up any
 * more (a reconnect in progress) it reports no usable address instead of falling back to
 * the default route, whose address the load balancer most likely cannot reach: the targets
 * stay where they are until the VPN is back, rather than flapping twice.
 */
export function createAddressSource(policy: AddressPolicy, net: HostNetwork = systemNetwork): AddressSource {
  const auto = policy.hostIp === undefined && policy.interface === undefined;
  let vpn: string | undefined;
  return {
    async current() {
      const choice = await chooseAddress(policy, net);
      if (!auto) return choice;
      if (choice.interface !== undefined && isVpnInterface(choice.interface)) {
        vpn = choice.interface;
        return { ...choice, vpn: true };
      }
      if (vpn === undefined) return { ...choice, vpn: false };
      const fallback = choice.address !== undefined ? `${choice.address}${choice.interface ? ` on ${choice.interface}` : ''}` : 'the default route';
      return { interface: vpn, problem: `VPN interface ${vpn} is down or has no IPv4 address; waiting for it instead of falling back to ${fallback} (this host registers its VPN address, as the state file records; set --interface to register another)` };
    },
    preferVpn(iface) {
      if (auto && isVpnInterface(iface)) vpn ??= iface;
    },
  };
}
