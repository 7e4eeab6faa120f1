// IPv4 and CIDR checks behind the local ELBv2 endpoint's `ip` target rules.
import { describe, expect, it } from 'vitest';
import { cidrContains, isIpv4, isPrivateTargetAddress, parseCidr, parseIpv4 } from '../support/local-elbv2/ipv4-cidr.ts';

describe('parseIpv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.0.1', 0x0a000001],
    ['255.255.255.255', 0xffffffff],
    ['192.168.1.20', 0xc0a80114],
  ])('parses %s', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  it.each(['', '10.0.0', '10.0.0.256', '10.0.0.1.2', '010.0.0.1', ' 10.0.0.1', '10.0.0.-1', 'a.b.c.d', '::1', 'i-0123456789abcdef0'])(
    'refuses %j',
    (text) => {
      expect(parseIpv4(text)).toBeUndefined();
      expect(isIpv4(text)).toBe(false);
    },
  );
});

describe('CIDR blocks', () => {
  it('tests membership at the edges of a block', () => {
    const vpc = parseCidr('10.0.0.0/16');
    expect(cidrContains(vpc, parseIpv4('10.0.0.0') ?? -1)).toBe(true);
    expect(cidrContains(vpc, parseIpv4('10.0.255.255') ?? -1)).toBe(true);
    expect(cidrContains(vpc, parseIpv4('10.1.0.0') ?? -1)).toBe(false);
    expect(cidrContains(vpc, parseIpv4('9.255.255.255') ?? -1)).toBe(false);
  });

  it('normalises host bits and handles /0 and /32', () => {
    expect(parseCidr('172.31.5.9/16').network).toBe(parseIpv4('172.31.0.0'));
    expect(cidrContains(parseCidr('0.0.0.0/0'), parseIpv4('8.8.8.8') ?? -1)).toBe(true);
    const single = parseCidr('192.168.1.1/32');
    expect(cidrContains(single, parseIpv4('192.168.1.1') ?? -1)).toBe(true);
    expect(cidrContains(single, parseIpv4('192.168.1.2') ?? -1)).toBe(false);
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '10.0.0.0/x', '10.0.0/8', '10.0.0.0/8/1'])('refuses %j', (text) => {
    expect(() => parseCidr(text)).toThrow(/not an IPv4 CIDR block/);
  });
});

describe('isPrivateTargetAddress (RFC 1918 and RFC 6598)', () => {
  it.each([
    ['10.255.1.1', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.0.1', true],
    ['192.169.0.1', false],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['100.128.0.1', false],
    ['8.8.8.8', false],
    ['127.0.0.1', false],
    ['169.254.169.254', false],
  ])('%s -> %s', (text, expected) => {
    expect(isPrivateTargetAddress(parseIpv4(text) ?? -1)).toBe(expected);
  });
});
