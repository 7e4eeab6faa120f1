// IPv4 helpers: parsing, CIDR containment, and which addresses an ELBv2 IP target may have.
import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseIpv4, untargetableReason, type Cidr } from '../../agent/core/ipv4.ts';

const cidr = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`test setup: ${text} is not a CIDR`);
  return parsed;
};

describe('parseIpv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.0.1', 0x0a000001],
    ['192.168.1.254', 0xc0a801fe],
    ['172.16.0.0', 0xac100000],
    ['255.255.255.255', 0xffffffff],
    ['128.0.0.0', 0x80000000],
  ])('%s = %d', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  it.each([
    ['a leading zero', '010.0.0.1'],
    ['a leading zero in the last octet', '10.0.0.01'],
    ['an octet of 256', '10.0.0.256'],
    ['an octet of 999', '999.0.0.1'],
    ['three parts', '10.0.1'],
    ['five parts', '10.0.0.1.5'],
    ['an empty part', '10..0.1'],
    ['a trailing dot', '10.0.0.1.'],
    ['a negative octet', '10.0.0.-1'],
    ['a sign', '+10.0.0.1'],
    ['hex', '0x0a.0.0.1'],
    ['spaces', ' 10.0.0.1'],
    ['a CIDR', '10.0.0.0/8'],
    ['an IPv6 address', '::1'],
    ['an IPv4-mapped IPv6 address', '::ffff:10.0.0.1'],
    ['the empty string', ''],
    ['a name', 'localhost'],
  ])('rejects %s (%j)', (_case, text) => {
    expect(parseIpv4(text)).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 0x0a000000, 8],
    ['0.0.0.0/0', 0, 0],
    ['10.0.0.5/32', 0x0a000005, 32],
    ['10.1.2.3/8', 0x0a000000, 8],
    ['192.168.1.77/24', 0xc0a80100, 24],
    ['255.255.255.255/1', 0x80000000, 1],
    ['172.31.255.255/12', 0xac100000, 12],
  ])('%s -> base %d /%d (the text kept as given)', (text, base, prefix) => {
    expect(parseCidr(text)).toStrictEqual({ text, base, prefix });
  });

  it.each(['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.0/008', '10.0.0/8', '10.0.0.256/8', '/8', '10.0.0.0/ 8', ''])(
    'rejects %j',
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );
});

describe('cidrContains', () => {
  it.each([
    ['0.0.0.0/0', '0.0.0.0', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['0.0.0.0/0', '10.1.2.3', true],
    ['10.0.0.5/32', '10.0.0.5', true],
    ['10.0.0.5/32', '10.0.0.4', false],
    ['10.0.0.5/32', '10.0.0.6', false],
    ['10.0.0.77/24', '10.0.0.0', true],
    ['10.0.0.77/24', '10.0.0.255', true],
    ['10.0.0.77/24', '10.0.1.0', false],
    ['10.0.0.77/24', '9.255.255.255', false],
    ['128.0.0.0/1', '255.255.255.255', true],
    ['128.0.0.0/1', '128.0.0.0', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['0.0.0.0/1', '127.255.255.255', true],
    ['0.0.0.0/1', '128.0.0.0', false],
    ['255.255.255.0/24', '255.255.255.128', true],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['10.0.0.0/8', 'not-an-address', false],
    ['0.0.0.0/0', '256.0.0.0', false],
  ])('%s contains %s: %s', (block, address, expected) => {
    expect(cidrContains(cidr(block), address)).toBe(expected);
  });
});

describe('untargetableReason', () => {
  // [address, VPC CIDRs, undefined when targetable, else a fragment of the reason]
  const cases: [string, string[], string | undefined][] = [
    ['127.0.0.1', [], 'loopback'],
    ['127.255.255.254', [], 'loopback'],
    ['169.254.0.1', [], 'link-local'],
    ['169.254.169.254', [], 'link-local'],
    ['0.0.0.0', [], 'unspecified'],
    ['0.1.2.3', [], 'unspecified'],
    ['224.0.0.1', [], 'multicast'],
    ['239.255.255.250', [], 'multicast'],
    ['240.0.0.1', [], 'reserved'],
    ['255.255.255.255', [], 'reserved'],
    ['8.8.8.8', [], 'public'],
    ['203.0.113.7', [], 'public'],
    ['not-an-ip', [], 'not an IPv4 address'],
    // RFC 1918 and RFC 6598 at their edges
    ['9.255.255.255', [], 'public'],
    ['10.0.0.0', [], undefined],
    ['10.255.255.255', [], undefined],
    ['11.0.0.0', [], 'public'],
    ['172.15.255.255', [], 'public'],
    ['172.16.0.0', [], undefined],
    ['172.31.255.255', [], undefined],
    ['172.32.0.0', [], 'public'],
    ['192.167.255.255', [], 'public'],
    ['192.168.0.0', [], undefined],
    ['192.168.255.255', [], undefined],
    ['192.169.0.0', [], 'public'],
    ['100.63.255.255', [], 'public'],
    ['100.64.0.0', [], undefined],
    ['100.127.255.255', [], undefined],
    ['100.128.0.0', [], 'public'],
    // a VPC with a public-looking range makes its own addresses targetable, and only those
    ['203.0.113.7', ['203.0.113.0/24'], undefined],
    ['203.0.114.7', ['203.0.113.0/24'], 'public'],
    ['198.51.100.9', ['10.0.0.0/16', '198.51.100.0/24'], undefined],
    // ...but never loopback or link-local, whatever the VPC ranges say
    ['127.0.0.1', ['0.0.0.0/0'], 'loopback'],
    ['169.254.1.1', ['169.254.0.0/16'], 'link-local'],
  ];

  it.each(cases)('%s with VPC %j -> %s', (address, vpc, expected) => {
    const reason = untargetableReason(address, vpc.map(cidr));
    if (expected === undefined) expect(reason).toBeUndefined();
    else expect(reason).toContain(expected);
  });
});
