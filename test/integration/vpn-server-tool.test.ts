// The stack's VPN server tool (cloudformation/ecs-anywhere-lb-vpn.sh) with the real easy-rsa and
// OpenVPN: the PKI it makes, the server config it writes and the client configs it prints work
// together. The server and two hosts run in network namespaces of their own (joined by veths),
// each host gets its client-config-dir address and the pushed VPC route, and a PKI restored
// from its kept files (as a replacement instance restores it from SSM) signs a host that connects
// too. Only the SSM Parameter Store steps are not run here (no AWS account).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VPN_TOOL_FILE } from '../../scripts/generate/template-vpn.ts';
import { netnsUnavailableReason, processAlive } from '../support/netns.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const unavailable = netnsUnavailableReason();
const PREFIX = 'ecslbo';
const tag = `${PREFIX}-${process.pid}-${randomBytes(2).toString('hex')}`;
const SERVER_NS = `${tag}-s`;
// Interface names hold 15 characters at most.
const link = `eo${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'ecslb-vpn-tool-'));
const serverDir = join(dir, 'server');
const envFile = join(dir, 'vpn.env');
const processes: ChildProcess[] = [];
const namespaces: string[] = [];

/** Runs the tool's functions (it is sourced, as a library) in bash with the test's settings. */
async function tool(script: string): Promise<string> {
  const { stdout } = await run('bash', ['-c', `. "$TOOL"; ${script}`], { env: { ...process.env, TOOL: VPN_TOOL_FILE.pathname, ECS_ANYWHERE_LB_VPN_ENV: envFile } });
  return stdout;
}

/** Starts openvpn in a namespace; resolves once it says the tunnel is up. */
async function openvpn(ns: string, config: string, name: string): Promise<void> {
  let log = '';
  const p = spawn('ip', ['netns', 'exec', ns, 'openvpn', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(p);
  p.stdout.on('data', (d: Buffer) => { log += d.toString(); });
  p.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  await waitFor(() => log.includes('Initialization Sequence Completed') || p.exitCode !== null, { description: `${name} up`, timeoutMs: 20_000 })
    .catch((e: unknown) => { throw new Error(`${String(e)}\n--- ${name} ---\n${log}`); });
  expect(p.exitCode, `${name} exited:\n${log}`).toBeNull();
}

async function namespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  namespaces.push(name);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** A host namespace joined to the server's by a veth pair (192.168.N.0/30, only inside these namespaces). */
async function host(n: number): Promise<string> {
  const ns = `${tag}-h${n}`;
  await namespace(ns);
  await run('ip', ['link', 'add', `${link}s${n}`, 'netns', SERVER_NS, 'type', 'veth', 'peer', 'name', `${link}h${n}`, 'netns', ns]);
  await run('ip', ['-n', SERVER_NS, 'addr', 'add', `192.168.${n}.1/30`, 'dev', `${link}s${n}`]);
  await run('ip', ['-n', SERVER_NS, 'link', 'set', `${link}s${n}`, 'up']);
  await run('ip', ['-n', ns, 'addr', 'add', `192.168.${n}.2/30`, 'dev', `${link}h${n}`]);
  await run('ip', ['-n', ns, 'link', 'set', `${link}h${n}`, 'up']);
  return ns;
}

/** A host's tunnel address and whether the VPC route goes through the tunnel. */
async function tunnelOf(ns: string): Promise<{ address: string | undefined; vpcRoute: boolean }> {
  const addresses = (await run('ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'tun0'])).stdout;
  const routes = (await run('ip', ['-n', ns, '-4', 'route'])).stdout;
  return { address: /inet (\S+)/.exec(addresses)?.[1], vpcRoute: /^10\.0\.0\.0\/16 via 10\.8\.0\.1 dev tun0/m.test(routes) };
}

/** Namespaces (and the openvpn processes in them) of earlier runs whose process is gone. */
async function removeLeftovers(): Promise<void> {
  for (const line of (await run('ip', ['netns', 'list'])).stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name)?.[1];
    if (pid === undefined || processAlive(Number(pid))) continue;
    const pids = (await run('ip', ['netns', 'pids', name])).stdout.split('\n').filter(Boolean);
    for (const p of pids) process.kill(Number(p), 'SIGKILL');
    await run('ip', ['netns', 'delete', name]).catch(() => undefined);
  }
}

beforeAll(async () => {
  if (unavailable) return;
  await removeLeftovers();
  // The server reads client-config-dir after dropping root, as on the instance.
  chmodSync(dir, 0o755);
  mkdirSync(serverDir, { mode: 0o755 });
  writeFileSync(envFile, [
    "VPN_CLIENT_CIDR='10.8.0.0/24'", "VPC_CIDR='10.0.0.0/16'", "VPN_PORT='1194'", "VPN_PUBLIC_ADDRESS='192.168.1.1'",
    "PKI_PARAMETER_PATH='/ecs-anywhere-lb/test/openvpn'", "AWS_REGION='eu-west-1'", `SERVER_DIR='${serverDir}'`, '',
  ].join('\n'));
  await namespace(SERVER_NS);
}, 30_000);

afterAll(async () => {
  for (const p of processes) p.kill('SIGTERM');
  for (const ns of namespaces) await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(unavailable !== undefined)('ecs-anywhere-lb-vpn with easy-rsa and OpenVPN', () => {
  it('its server and client configs connect a host at its fixed address with the VPC route; a restored PKI signs another', async () => {
    await tool('make_pki && server_config > "$SERVER_DIR/server.conf" && issue_client edge-1 10.8.0.10');
    writeFileSync(join(dir, 'edge-1.ovpn'), await tool('client_config edge-1'));

    // What a replacement instance does: an empty layout, the kept files put back, then sign a new host.
    const kept = join(dir, 'kept');
    mkdirSync(kept);
    const files = (await tool('pki_files')).trim().split('\n').map((l) => l.split(' ')[0] ?? '');
    for (const f of files) copyFileSync(f, join(kept, f.replaceAll('/', '_')));
    await tool('empty_pki');
    for (const f of files) copyFileSync(join(kept, f.replaceAll('/', '_')), f);
    await tool('finish_restored_pki && issue_client edge-2 10.8.0.11');
    writeFileSync(join(dir, 'edge-2.ovpn'), (await tool('client_config edge-2')).replace('remote 192.168.1.1 ', 'remote 192.168.2.1 '));

    const [h1, h2] = [await host(1), await host(2)];
    await openvpn(SERVER_NS, join(serverDir, 'server.conf'), 'server');
    await openvpn(h1, join(dir, 'edge-1.ovpn'), 'edge-1');
    await openvpn(h2, join(dir, 'edge-2.ovpn'), 'edge-2');
    expect(await tunnelOf(h1)).toEqual({ address: '10.8.0.10/24', vpcRoute: true });
    expect(await tunnelOf(h2)).toEqual({ address: '10.8.0.11/24', vpcRoute: true });
    // Routed, not translated: the server reaches each host at its tunnel address.
    await run('ip', ['netns', 'exec', SERVER_NS, 'busybox', 'ping', '-c', '1', '-W', '2', '10.8.0.10']);
    await run('ip', ['netns', 'exec', SERVER_NS, 'busybox', 'ping', '-c', '1', '-W', '2', '10.8.0.11']);
  }, 90_000);
});
