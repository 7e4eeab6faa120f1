// The pure parts of npm run e2e:vpn: the network block it picks (nothing of the machine's
// routes or addresses may mention it), the names that let a later run tell a crashed run's
// leftovers from a live one, the OpenVPN configurations, and reading an installed unit as
// systemd would start it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { networkPlan, pickFreeBlock, pidOfLink, pidOfName, runNames } from '../../scripts/e2e-vpn/network-plan.ts';
import { clientConfig, clientConfigDirEntry, serverConfig } from '../../scripts/e2e-vpn/openvpn-config.ts';
import { parseEnvironmentAssignments, serviceCommand } from '../../scripts/e2e-vpn/service-command.ts';

describe('pickFreeBlock', () => {
  const cases: Array<{ name: string; used: string; start: number; candidates: number[]; expected: number | undefined }> = [
    { name: 'nothing used: the start candidate', used: '', start: 1, candidates: [160, 161, 162], expected: 161 },
    { name: 'a route into the start block: the next one', used: '10.161.0.0/20 via 10.161.16.1 dev tun0', start: 1, candidates: [160, 161, 162], expected: 162 },
    { name: 'an address in a block counts as used', used: '3: eth1    inet 10.162.3.4/24 brd ...', start: 2, candidates: [160, 161, 162], expected: 160 },
    { name: '110.160. or 10.1600. are not 10.160.', used: 'default via 110.160.0.1\n10.16.0.0/16 dev x', start: 0, candidates: [160, 16], expected: 160 },
    { name: '10.16. used, 10.160. free', used: '10.16.0.0/16 dev x', start: 0, candidates: [16, 160], expected: 160 },
    { name: 'wraps around past the end', used: '10.162.0.0/16 dev x', start: 2, candidates: [160, 161, 162], expected: 160 },
    { name: 'every candidate used', used: '10.160.0.1 10.161.0.1', start: 0, candidates: [160, 161], expected: undefined },
  ];
  for (const c of cases) it(c.name, () => expect(pickFreeBlock(c.used, c.start, c.candidates)).toBe(c.expected));
});

describe('networkPlan', () => {
  it('keeps every address inside the block, the client subnet and links outside the VPC', () => {
    const p = networkPlan(170);
    expect(p).toMatchObject({ block: '10.170.0.0/16', vpcCidr: '10.170.0.0/20', loadBalancerAddress: '10.170.0.10', clientNetwork: '10.170.16.0' });
    const addresses = [p.loadBalancerAddress, p.host1Address, p.host1MovedAddress, p.host2Address, p.rootVpc.a, p.rootVpc.b, p.host2Vpc.a, p.host2Vpc.b, p.host2Root.a, p.host2Root.b];
    for (const a of addresses) expect(a.startsWith('10.170.')).toBe(true);
    expect(new Set(addresses).size).toBe(addresses.length);
    const third = (a: string) => Number(a.split('.')[2]);
    // Only the load balancer is in the VPC (10.170.0-15.x): targets are off-VPC (AvailabilityZone all), links are the underlay.
    expect(addresses.filter((a) => third(a) < 16)).toEqual([p.loadBalancerAddress]);
  });
  it('refuses a non-octet', () => expect(() => networkPlan(256)).toThrow(/not an octet/));
});

describe('run names', () => {
  it('carry the pid in namespaces, links (15 characters at most) and the run id', () => {
    const n = runNames(4_194_303, 'ab');
    expect(n).toEqual({
      runId: 'ecslbv-4194303-ab',
      vpcNetns: 'ecslbv-4194303-vpc',
      host2Netns: 'ecslbv-4194303-h2',
      rootVpcLink: 'ecslbv3fffffv',
      rootHost2Link: 'ecslbv3fffffd',
      host1Tunnel: 'ecslbv3ffffft',
    });
    for (const link of [n.rootVpcLink, n.rootHost2Link, n.host1Tunnel]) {
      expect(link.length).toBeLessThanOrEqual(15);
      expect(pidOfLink(link)).toBe(4_194_303);
    }
    for (const name of [n.runId, n.vpcNetns, n.host2Netns]) expect(pidOfName(name)).toBe(4_194_303);
  });
  const foreign: Array<[string, (s: string) => number | undefined]> = [
    ['ecslbt-123-ab', pidOfName], ['ecslb-U2Dqr0', pidOfLink], ['ecslbv00001', pidOfLink], ['ecslbv000001x', pidOfLink], ['tun0', pidOfLink], ['ecslbv-x-1', pidOfName],
  ];
  for (const [name, of] of foreign) it(`${name} is not an e2e:vpn name`, () => expect(of(name)).toBeUndefined());
});

describe('OpenVPN configurations', () => {
  const p = networkPlan(170);
  const credentials = { ca: 'CA PEM\n', cert: 'CERT PEM', key: 'KEY PEM', tlsCrypt: 'TC KEY' };
  it('the server is routed: topology subnet, the client subnet, the VPC route pushed, fixed addresses only', () => {
    const text = serverConfig(p, { ca: '/p/ca.crt', cert: '/p/s.crt', key: '/p/s.key', tlsCrypt: '/p/tc.key', clientConfigDir: '/p/ccd' }, 'vpn0');
    for (const line of ['dev vpn0', 'topology subnet', 'server 10.170.16.0 255.255.255.0', 'push "route 10.170.0.0 255.255.240.0"', 'client-config-dir /p/ccd', 'ccd-exclusive']) {
      expect(text.split('\n')).toContain(line);
    }
    expect(clientConfigDirEntry(p.host1MovedAddress, p)).toBe('ifconfig-push 10.170.16.11 255.255.255.0\n');
  });
  it('a client config inlines every key (what install.sh --vpn-config requires) and names its device', () => {
    const own = clientConfig('10.170.32.2', 'ecslbv00abcdt', credentials).split('\n');
    expect(own).toEqual(expect.arrayContaining(['client', 'dev ecslbv00abcdt', 'dev-type tun', 'remote 10.170.32.2 1194', 'remote-cert-tls server', '<ca>', 'CA PEM', '</ca>', '<tls-crypt>', 'TC KEY', '</tls-crypt>']));
    expect(own.some((l) => /^(ca|cert|key|tls-crypt) /.test(l))).toBe(false);
    const plain = clientConfig('10.170.32.6', 'tun', credentials).split('\n');
    expect(plain).toContain('dev tun');
    expect(plain).not.toContain('dev-type tun');
  });
});

describe('serviceCommand', () => {
  const root = mkdtempSync(join(tmpdir(), 'e2e-vpn-unit-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  it('reads the installed agent unit as systemd starts it: program inside the root, agent.env over Environment, StateDirectory', () => {
    mkdirSync(join(root, 'etc/systemd/system/ecs-anywhere-lb-agent.service.d'), { recursive: true });
    mkdirSync(join(root, 'etc/ecs-anywhere-lb-agent'), { recursive: true });
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/local/bin/ecs-anywhere-lb-agent'), '#!/bin/sh\n');
    writeFileSync(join(root, 'etc/systemd/system/ecs-anywhere-lb-agent.service'), readFileSync('systemd/ecs-anywhere-lb-agent.service', 'utf8'));
    writeFileSync(join(root, 'etc/systemd/system/ecs-anywhere-lb-agent.service.d/10-vpn.conf'), '[Unit]\nAfter=openvpn-client@ecs-anywhere.service\n[Service]\nEnvironment="A=1 2" B=3\n');
    writeFileSync(join(root, 'etc/ecs-anywhere-lb-agent/agent.env'), '# comment\nECS_ANYWHERE_LB_INTERFACE=tun0\nAWS_REGION="eu-west-1"\nB=from-file\n');
    const cmd = serviceCommand(root, 'etc/systemd/system/ecs-anywhere-lb-agent.service');
    expect(cmd.argv).toEqual([join(root, 'usr/local/bin/ecs-anywhere-lb-agent'), 'run']);
    expect(cmd.stateDirectory).toBe(join(root, 'var/lib/ecs-anywhere-lb-agent'));
    expect(cmd.env).toEqual({ ECS_ANYWHERE_LB_INTERFACE: 'tun0', AWS_REGION: 'eu-west-1', ECS_ANYWHERE_LB_STATE_DIR: join(root, 'var/lib/ecs-anywhere-lb-agent'), MALLOC_ARENA_MAX: '1', A: '1 2', B: 'from-file' });
  });
  it('an OpenVPN client unit template: %i, WorkingDirectory inside the root, the system openvpn', () => {
    const unit = join(root, 'openvpn-client@.service');
    writeFileSync(unit, '[Service]\nWorkingDirectory=/etc/openvpn/client\nExecStart=/usr/sbin/openvpn --suppress-timestamps --nobind --config %i.conf\n');
    const cmd = serviceCommand(root, 'etc/systemd/system/openvpn-client@.service', { instance: 'ecs-anywhere', unitPath: unit });
    expect(cmd).toEqual({ argv: ['/usr/sbin/openvpn', '--suppress-timestamps', '--nobind', '--config', 'ecs-anywhere.conf'], cwd: join(root, 'etc/openvpn/client'), env: {} });
  });
  it('a unit without ExecStart, or with a missing required EnvironmentFile, is refused', () => {
    writeFileSync(join(root, 'bad.service'), '[Service]\nType=simple\n');
    expect(() => serviceCommand(root, 'bad.service')).toThrow(/no ExecStart/);
    writeFileSync(join(root, 'bad2.service'), '[Service]\nExecStart=/bin/true\nEnvironmentFile=/etc/missing.env\n');
    expect(() => serviceCommand(root, 'bad2.service')).toThrow(/EnvironmentFile .*missing\.env is missing/);
  });
  const assignments: Array<[string, Array<[string, string]>]> = [
    ['A=1', [['A', '1']]],
    ['A=1 B=2', [['A', '1'], ['B', '2']]],
    ['"A=x y" B=', [['A', 'x y'], ['B', '']]],
    ['novalue', []],
  ];
  for (const [text, expected] of assignments) it(`Environment=${text}`, () => expect(parseEnvironmentAssignments(text)).toEqual(expected));
});
