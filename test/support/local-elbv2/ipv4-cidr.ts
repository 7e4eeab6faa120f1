/**
 * IPv4 addresses and CIDR blocks, just enough to decide which addresses ELBv2 accepts as
 * `ip` targets. Pure functions: no I/O.
 */

/** A parsed CIDR block: network address and prefix length, both as numbers. */
export interface Cidr {
  readonly network: number;
  readonly prefix: number;
  readonly text: string;
}

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4 text into an unsigned 32-bit number; undefined if it is not one. */
export function parseIpv4(text: string): number | undefined {
  const match = DOTTED_QUAD.exec(text);
  if (!match) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octetText = match[i] ?? '';
    // Leading zeros ("010") are ambiguous (octal in some parsers): AWS refuses them, so do we.
    if (octetText.length > 1 && octetText.startsWith('0')) return undefined;
    const octet = Number(octetText);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** True when `text` is a canonical dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== undefined;
}

/** Parses `a.b.c.d/n`; throws a plain Error on malformed input (configuration mistakes). */
export function parseCidr(text: string): Cidr {
  const [addressText, prefixText, ...rest] = text.split('/');
  const address = parseIpv4(addressText ?? '');
  const prefix = Number(prefixText);
  if (address === undefined || rest.length > 0 || !/^\d{1,2}$/.test(prefixText ?? '') || prefix > 32) {
    throw new Error(`'${text}' is not an IPv4 CIDR block (expected a.b.c.d/n)`);
  }
  return { network: (address & maskOf(prefix)) >>> 0, prefix, text };
}

/** True when `address` (a parsed IPv4 number) lies inside `cidr`. */
export function cidrContains(cidr: Cidr, address: number): boolean {
  return ((address & maskOf(cidr.prefix)) >>> 0) === cidr.network;
}

/** RFC 1918 private ranges plus RFC 6598 shared address space: what ELBv2 accepts off-VPC. */
export const PRIVATE_TARGET_RANGES: readonly Cidr[] = [
  parseCidr('10.0.0.0/8'),
  parseCidr('172.16.0.0/12'),
  parseCidr('192.168.0.0/16'),
  parseCidr('100.64.0.0/10'),
];

/** True when the address lies in one of the RFC 1918 / RFC 6598 ranges. */
export function isPrivateTargetAddress(address: number): boolean {
  return PRIVATE_TARGET_RANGES.some((range) => cidrContains(range, address));
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
