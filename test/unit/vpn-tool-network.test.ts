// The VPN server tool's CIDR -> "network mask" conversion (OpenVPN's `server` and `push "route"`
// take a mask), run in bash as the instance runs it: a table, and a clear error for bad input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VPN_TOOL_FILE } from '../../scripts/generate/template-vpn.ts';

const dir = mkdtempSync(join(tmpdir(), 'ecslb-vpn-cidr-'));
const envFile = join(dir, 'vpn.env');
writeFileSync(envFile, "AWS_REGION='eu-west-1'\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const networkAndMask = (cidr: string) => spawnSync('bash', ['-c', '. "$TOOL"; network_and_mask "$1"', 'test', cidr], {
  encoding: 'utf8',
  env: { ...process.env, TOOL: VPN_TOOL_FILE.pathname, ECS_ANYWHERE_LB_VPN_ENV: envFile },
});

describe('network_and_mask', () => {
  it.each([
    ['10.8.0.0/24', '10.8.0.0 255.255.255.0'],
    ['10.0.0.0/16', '10.0.0.0 255.255.0.0'],
    ['172.16.32.0/20', '172.16.32.0 255.255.240.0'],
    ['100.64.0.0/10', '100.64.0.0 255.192.0.0'],
    ['10.8.0.10/32', '10.8.0.10 255.255.255.255'],
    ['10.8.0.5/24', '10.8.0.0 255.255.255.0'],
    ['0.0.0.0/0', '0.0.0.0 0.0.0.0'],
  ])('%s -> %s', (cidr, expected) => {
    const r = networkAndMask(cidr);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(expected);
  });

  it.each(['10.8.0.0', '10.8.0.0/33', 'ten.8.0.0/24', '10.8.0.256/24', ''])('refuses %j, naming it', (cidr) => {
    const r = networkAndMask(cidr);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`ecs-anywhere-lb-vpn: not an IPv4 CIDR: ${cidr}\n`);
  });
});
