/** IPv4 parsing and range checks: pure helpers shared by config validation and address choice. */

/** A parsed CIDR block. */
export interface Cidr {
  readonly text: string;
  readonly base: number;
  readonly prefix: number;
}

/** The address as an unsigned 32-bit number, or undefined when it is not dotted-quad IPv4. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Parses "a.b.c.d/n"; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, bits, extra] = text.split('/');
  if (addr === undefined || bits === undefined || extra !== undefined || !/^[0-9]{1,2}$/.test(bits)) return undefined;
  const base = parseIpv4(addr);
  const prefix = Number(bits);
  if (base === undefined || prefix > 32) return undefined;
  return { text, base: maskOf(base, prefix), prefix };
}

function maskOf(value: number, prefix: number): number {
  if (prefix === 0) return 0;
  return (value >>> (32 - prefix)) << (32 - prefix) >>> 0;
}

/** Whether the address lies inside the block. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  const value = parseIpv4(address);
  return value !== undefined && maskOf(value, cidr.prefix) === cidr.base;
}

const RANGES = {
  loopback: ['127.0.0.0/8'],
  linkLocal: ['169.254.0.0/16'],
  unspecified: ['0.0.0.0/8'],
  multicast: ['224.0.0.0/4', '240.0.0.0/4'],
  /** What an ELBv2 IP target may be besides the VPC's own subnets: RFC 1918 and RFC 6598. */
  targetable: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'],
} as const;

const PARSED = Object.fromEntries(
  Object.entries(RANGES).map(([kind, list]) => [kind, list.map((c) => parseCidr(c) as Cidr)]),
) as Record<keyof typeof RANGES, Cidr[]>;

/** Why a load balancer could not reach this address as an IP target, or undefined when it can. */
export function untargetableReason(address: string, vpcCidrs: readonly Cidr[] = []): string | undefined {
  if (parseIpv4(address) === undefined) return 'not an IPv4 address';
  const inAny = (list: readonly Cidr[]) => list.some((c) => cidrContains(c, address));
  if (inAny(PARSED.loopback)) return 'loopback address';
  if (inAny(PARSED.linkLocal)) return 'link-local address';
  if (inAny(PARSED.unspecified)) return 'unspecified address';
  if (inAny(PARSED.multicast)) return 'multicast or reserved address';
  if (inAny(PARSED.targetable) || inAny(vpcCidrs)) return undefined;
  return 'public address (ELBv2 accepts only RFC 1918, 100.64.0.0/10 and the VPC\'s own ranges)';
}
