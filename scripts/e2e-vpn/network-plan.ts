/**
 * The addresses and names of one `npm run e2e:vpn` run, pure: one free 10.A.0.0/16 block
 * (no route or address of the root namespace mentions 10.A.) split into the VPC, the VPN's
 * client subnet and the point-to-point links, and names that start with E2E_VPN_PREFIX and
 * carry the run's pid, so that a later run can tell a crashed run's leftovers from a live one.
 */

/** Every namespace, root-side link, run directory and container run label of e2e:vpn starts with this. */
export const E2E_VPN_PREFIX = 'ecslbv';

/** The second octets tried for the run's 10.A.0.0/16 (clear of netns.ts's 10.213 and Docker's usual pools). */
export const BLOCK_CANDIDATES: readonly number[] = Array.from({ length: 40 }, (_, i) => 160 + i);

/** Both ends of a veth pair. */
export interface LinkAddresses {
  readonly a: string;
  readonly b: string;
}

/** Where everything of one run lives on the network. */
export interface NetworkPlan {
  /** `10.A.0.0/16`: nothing outside it is routed or addressed. */
  readonly block: string;
  /** The VPC (the target groups' VPC, pushed to the clients as a route): 10.A.0.0/20. */
  readonly vpcCidr: string;
  readonly vpcNetwork: string;
  readonly vpcMask: string;
  /** The load balancer node's address in the VPC: health checks and forwarded requests leave from it. */
  readonly loadBalancerAddress: string;
  /** The VPN's client subnet (`server` of the OpenVPN server, topology subnet): 10.A.16.0/24, outside the VPC. */
  readonly clientNetwork: string;
  readonly clientMask: string;
  readonly clientPrefixLength: number;
  /** Fixed client addresses (client-config-dir): host 1, host 1 after its entry changed, host 2. */
  readonly host1Address: string;
  readonly host1MovedAddress: string;
  readonly host2Address: string;
  /** Underlay ("internet") links: root (host 1) <-> VPC, host 2 <-> VPC; and host 2 <-> root for Docker's published ports. */
  readonly rootVpc: LinkAddresses;
  readonly host2Vpc: LinkAddresses;
  readonly host2Root: LinkAddresses;
  /** Prefix length of the links. */
  readonly linkPrefixLength: number;
}

/** The plan for the block 10.`second`.0.0/16. */
export function networkPlan(second: number): NetworkPlan {
  if (!Number.isInteger(second) || second < 0 || second > 255) throw new Error(`not an octet: ${second}`);
  const p = `10.${second}`;
  return {
    block: `${p}.0.0/16`,
    vpcCidr: `${p}.0.0/20`,
    vpcNetwork: `${p}.0.0`,
    vpcMask: '255.255.240.0',
    loadBalancerAddress: `${p}.0.10`,
    clientNetwork: `${p}.16.0`,
    clientMask: '255.255.255.0',
    clientPrefixLength: 24,
    host1Address: `${p}.16.10`,
    host1MovedAddress: `${p}.16.11`,
    host2Address: `${p}.16.20`,
    rootVpc: { a: `${p}.32.1`, b: `${p}.32.2` },
    host2Vpc: { a: `${p}.32.5`, b: `${p}.32.6` },
    host2Root: { a: `${p}.32.9`, b: `${p}.32.10` },
    linkPrefixLength: 30,
  };
}

/**
 * The first candidate second octet whose `10.A.` appears nowhere in `used` (the root
 * namespace's `ip -4 route show table all` and `ip -4 -o addr show`), starting at a random
 * offset so that concurrent runs rarely race for the same one. Undefined when none is free.
 */
export function pickFreeBlock(used: string, start = 0, candidates: readonly number[] = BLOCK_CANDIDATES): number | undefined {
  for (let i = 0; i < candidates.length; i++) {
    const second = candidates[(start + i) % candidates.length] as number;
    if (!new RegExp(`(^|[^0-9.])10\\.${second}\\.`, 'm').test(used)) return second;
  }
  return undefined;
}

/** The names of one run, from the pid of the process that owns it. */
export interface RunNames {
  /** `ecslbv-<pid>-<hex>`: run directory name and the containers' run label. */
  readonly runId: string;
  readonly vpcNetns: string;
  readonly host2Netns: string;
  /** Root-side veth to the VPC (`ecslbv` + 6 hex of the pid + `v`). */
  readonly rootVpcLink: string;
  /** Root-side veth to host 2 (+ `d`: its way to Docker's published ports). */
  readonly rootHost2Link: string;
  /** Host 1's tunnel device in the root namespace (+ `t`); not `tun*`, so no other agent on the machine takes it for its VPN. */
  readonly host1Tunnel: string;
}

/** Names for a run of process `pid` (`hex`: two random hex digits against pid reuse). */
export function runNames(pid: number, hex: string): RunNames {
  const pidHex = pid.toString(16).padStart(6, '0');
  if (pidHex.length > 6) throw new Error(`pid ${pid} does not fit the link names`);
  return {
    runId: `${E2E_VPN_PREFIX}-${pid}-${hex}`,
    vpcNetns: `${E2E_VPN_PREFIX}-${pid}-vpc`,
    host2Netns: `${E2E_VPN_PREFIX}-${pid}-h2`,
    rootVpcLink: `${E2E_VPN_PREFIX}${pidHex}v`,
    rootHost2Link: `${E2E_VPN_PREFIX}${pidHex}d`,
    host1Tunnel: `${E2E_VPN_PREFIX}${pidHex}t`,
  };
}

/** The pid a namespace, run directory or run label of e2e:vpn names (`ecslbv-<pid>-...`), or undefined. */
export function pidOfName(name: string): number | undefined {
  const m = new RegExp(`^${E2E_VPN_PREFIX}-(\\d+)-`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The pid a root-side link of e2e:vpn names (`ecslbv<6 hex>[vdt]`), or undefined. */
export function pidOfLink(name: string): number | undefined {
  const m = new RegExp(`^${E2E_VPN_PREFIX}([0-9a-f]{6})[vdt]$`).exec(name);
  return m ? Number.parseInt(m[1] as string, 16) : undefined;
}
