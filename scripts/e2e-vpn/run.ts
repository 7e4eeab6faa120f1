/**
 * `npm run e2e:vpn`: the load balancer in a VPC health-checks and serves an ECS Anywhere
 * host's container through a real, routed OpenVPN tunnel, on one machine:
 *
 * - the VPC is a network namespace with an OpenVPN server (topology subnet, the VPC route
 *   pushed, a fixed address per host from client-config-dir) and the local ELBv2 endpoint
 *   with a listener, whose health checks and forwarded requests leave from the load
 *   balancer's VPC address and so travel the tunnel;
 * - host 1 is this machine (the root namespace, where Docker publishes ports); host 2 is a
 *   namespace of its own. Both are set up by `installer/install.sh --root ... --vpn-config`
 *   and run what it installed (scripts/e2e-vpn/vpn-host.ts);
 * - host 1's container turns healthy at its tunnel address and answers through the tunnel;
 *   its tunnel goes down (the target turns unhealthy and is kept), comes back with another
 *   address (the agent moves the target, make before break), and the container stops (its
 *   target drains and leaves); host 2's target stays healthy and untouched throughout; a
 *   steady load through the listener counts the requests that fail in each phase.
 *
 * Everything it makes carries the run's pid (network-plan.ts) and is removed at the end,
 * whatever happens; leftovers of a crashed earlier run are removed first; at the end the run
 * checks `ip netns`, `ip link`, processes and `docker ps -a` and fails if anything of it is left.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { REPO_ROOT } from '../../test/support/agent-process.ts';
import type { AgentLogLine } from '../../test/support/agent-process.ts';
import { removeTestContainers, startEcsContainer, type EcsContainer } from '../../test/support/ecs-container.ts';
import { startLoad, type LoadFailure, type LoadGenerator, type LoadStats } from '../../test/support/load-generator.ts';
import type { RequestLogEntry } from '../../test/support/local-elbv2/index.ts';
import { ensureTestImage } from '../../test/support/test-image.ts';
import { sleep, waitFor } from '../../test/support/wait.ts';
import { countFailures, type FailureCounts } from '../e2e-deploy/run.ts';
import { Teardown } from '../e2e-deploy/teardown.ts';
import { makeCertificates, clientCredentials } from './certificates.ts';
import { command, inNetns, ip, startChild } from './command.ts';
import { describeFootprint, footprint, removeLeftovers, removeRunFootprint, RUN_DIR_BASE, type FootprintItem } from './footprint.ts';
import { networkPlan, pickFreeBlock, runNames, type NetworkPlan, type RunNames } from './network-plan.ts';
import { clientConfig, clientConfigDirEntry, serverConfig } from './openvpn-config.ts';
import { targetKey, TargetWatch } from './target-watch.ts';
import { NS_LINKS, createTopology } from './topology.ts';
import type { VpcEndpointReady, VpcEndpointSpec } from './vpc-endpoint.ts';
import { OPENVPN_CLIENT_UNIT, VpnHost, writeAgentWrapper } from './vpn-host.ts';

const TSX_CLI = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const CONTAINER_PORT = 8080;

/** What a run can be told. */
export interface E2eVpnOptions {
  /** Requests per second of the load through the listener. */
  readonly ratePerSecond: number;
  /** The target group's health check (ALB's shortest settings by default). */
  readonly healthCheck: { readonly intervalSeconds: number; readonly timeoutSeconds: number; readonly healthyThreshold: number; readonly unhealthyThreshold: number };
  readonly deregistrationDelaySeconds: number;
  /** Register/DeregisterTargets to the listener's routing change. */
  readonly propagationDelayMs: number;
  /** Deadline of one request of the load. */
  readonly requestTimeoutMs: number;
  /** How long a target may take to reach a state (healthy, unhealthy, gone). */
  readonly stepTimeoutMs: number;
  readonly log?: (line: string) => void;
}

export const E2E_VPN_DEFAULTS: E2eVpnOptions = {
  ratePerSecond: 20,
  healthCheck: { intervalSeconds: 5, timeoutSeconds: 2, healthyThreshold: 2, unhealthyThreshold: 2 },
  deregistrationDelaySeconds: 5,
  propagationDelayMs: 1_000,
  requestTimeoutMs: 3_000,
  stepTimeoutMs: 60_000,
};

/** Requests of the load sent in one phase. */
export interface PhaseLoad {
  readonly sent: number;
  readonly failed: number;
  readonly failures: FailureCounts;
}

/** One check of the run: what was asserted, whether it held, and the evidence. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** The figures and checks of one run. */
export interface E2eVpnReport {
  readonly startedAt: string;
  readonly totalMs: number;
  readonly network?: { readonly block: string; readonly vpc: string; readonly loadBalancer: string; readonly clientSubnet: string; readonly host1: string; readonly host1Moved: string; readonly host2: string };
  readonly figures: {
    /** Container started -> its target healthy (through the tunnel). */
    host1HealthyMs?: number;
    host2HealthyMs?: number;
    /** Of the probe requests sent to the listener once both were healthy: who answered. */
    answeredBy?: Record<string, number>;
    /** SIGTERM to OpenVPN -> the kernel deleted its tun device (it tells the server first). */
    tunnelStopMs?: number;
    /** The kernel deleted the tun device (ip monitor) -> the agent logged its address gone (the agent's timestamp). */
    addressGoneLoggedMs?: number;
    /** Tunnel stopped -> the target unhealthy. */
    unhealthyMs?: number;
    /** Tunnel back with the new address -> the agent registered it / new target healthy / old target gone. */
    newAddressLoggedMs?: number;
    newTargetHealthyMs?: number;
    oldTargetGoneMs?: number;
    /** docker stop -> the target draining / gone. */
    deregisteredMs?: number;
    drainedMs?: number;
    setupMs?: number;
  };
  readonly load: { readonly tunnelDown?: PhaseLoad; readonly move?: PhaseLoad; readonly drain?: PhaseLoad; readonly total?: PhaseLoad & { readonly ok: number; readonly latencyMs: LoadStats['latencyMs'] } };
  readonly checks: readonly Check[];
  /** What was removed of crashed earlier runs before this one. */
  readonly leftoversRemoved: readonly string[];
  /** What of this run was still there after its cleanup (must be nothing). */
  readonly leftAfter: readonly string[];
  /** The first error that stopped the run, if any. */
  readonly error?: string;
  readonly passed: boolean;
}

/** Why this machine cannot run e2e:vpn, or undefined. */
export function e2eVpnUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return `e2e:vpn needs root (network namespaces, tun devices, iptables); uid is ${String(process.getuid?.())}`;
  for (const tool of ['openvpn', 'openssl', 'iptables', 'ip']) {
    const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'].some((d) => existsSync(join(d, tool)));
    if (!found) return `${tool} is not installed (scripts/install-ci-deps.sh installs openvpn, openssl, iptables and iproute2)`;
  }
  if (!existsSync(OPENVPN_CLIENT_UNIT)) return `${OPENVPN_CLIENT_UNIT} is missing (Debian's openvpn package ships it)`;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing: no tun devices here';
  return undefined;
}

/** A point of the load's life: when, and how many requests it had sent by then. */
interface LoadMark {
  readonly at: number;
  readonly sent: number;
}

function mark(loadGen: LoadGenerator): LoadMark {
  return { at: Date.now(), sent: loadGen.stats().sent };
}

/** The requests of the load sent between two marks, and those of them that failed. */
function phaseLoad(stats: LoadStats, from: LoadMark, to: LoadMark): PhaseLoad {
  const failures: LoadFailure[] = stats.failures.filter((f) => f.atMs >= from.at - stats.startedAt && f.atMs < to.at - stats.startedAt);
  return { sent: to.sent - from.sent, failed: failures.length, failures: countFailures(failures) };
}

/** Waits for an agent log line (from line `fromIndex` on) and resolves with when the agent wrote it (its timestamp). */
async function waitForAgentLine(lines: AgentLogLine[], fromIndex: number, predicate: (l: AgentLogLine) => boolean, description: string, timeoutMs: number, tail: () => string): Promise<number> {
  const line = await waitFor(() => lines.slice(fromIndex).find(predicate), { description: `agent log: ${description}\n--- agent output ---\n${tail()}`, timeoutMs, intervalMs: 50 });
  const at = typeof line.timestamp === 'string' ? Date.parse(line.timestamp) : Number.NaN;
  return Number.isFinite(at) ? at : Date.now();
}

/** Reads the endpoint's request log (JSON lines). */
function readRequestLog(path: string): RequestLogEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RequestLogEntry);
}

/** Sequential GETs to `url`; the pages (the container's name) and how often each answered. */
async function probeListener(url: string, count: number, timeoutMs: number): Promise<Record<string, number>> {
  const answered: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
      const body = (await response.text()).trim();
      const key = response.status === 200 ? body : `HTTP ${response.status}`;
      answered[key] = (answered[key] ?? 0) + 1;
    } catch (error) {
      const key = `error ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name}`;
      answered[key] = (answered[key] ?? 0) + 1;
    }
  }
  return answered;
}

/** Runs the whole scenario; never throws for a failed step (it is in the report), only for bad use. */
export async function runE2eVpn(options: E2eVpnOptions, env: { docker: Docker; teardown?: Teardown; signal?: AbortSignal }): Promise<E2eVpnReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const teardown = env.teardown ?? new Teardown();
  const docker = env.docker;
  const checks: Check[] = [];
  const figures: E2eVpnReport['figures'] = {};
  const load: { -readonly [K in keyof E2eVpnReport['load']]: E2eVpnReport['load'][K] } = {};
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    log(`${ok ? 'ok' : 'FAILED'}: ${name}${detail ? ` (${detail})` : ''}`);
  };
  let network: E2eVpnReport['network'];
  let error: string | undefined;
  let leftoversRemoved: string[] = [];
  const names: RunNames = runNames(process.pid, randomBytes(1).toString('hex'));
  const runDir = join(RUN_DIR_BASE, names.runId);
  let plan: NetworkPlan | undefined;
  // After a signal the caller tears down: make nothing more.
  const goOn = () => {
    if (env.signal?.aborted) throw new Error('interrupted');
  };

  try {
    const unavailable = e2eVpnUnavailableReason();
    if (unavailable) throw new Error(unavailable);
    const leftovers = await removeLeftovers(docker);
    leftoversRemoved = leftovers.removed.map((i) => `${i.kind} ${i.name}`);
    if (leftovers.removed.length > 0) log(`removed leftovers of earlier runs:\n${describeFootprint(leftovers.removed)}`);
    for (const p of leftovers.problems) log(`leftover cleanup: ${p}`);
    const before = (await footprint(docker)).filter((i) => i.runPid === process.pid);
    check('nothing of this run exists before it starts', before.length === 0, describeFootprint(before));

    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    teardown.add('run directory', () => command('rm', ['-rf', runDir]));
    const used = (await ip(undefined, '-4', 'route', 'show', 'table', 'all')) + (await ip(undefined, '-4', '-o', 'addr', 'show'));
    const second = pickFreeBlock(used, randomInt(40));
    if (second === undefined) throw new Error('no free 10.A.0.0/16 block: every candidate appears in the routes or addresses of this machine');
    plan = networkPlan(second);
    const p = plan;
    network = { block: p.block, vpc: p.vpcCidr, loadBalancer: p.loadBalancerAddress, clientSubnet: `${p.clientNetwork}/${p.clientPrefixLength}`, host1: p.host1Address, host1Moved: p.host1MovedAddress, host2: p.host2Address };
    log(`network ${p.block}: VPC ${p.vpcCidr} (load balancer ${p.loadBalancerAddress}), VPN clients ${p.clientNetwork}/${p.clientPrefixLength}; run ${names.runId}`);

    // ---- the VPC: certificates, namespaces, OpenVPN server, load balancer
    const certs = await makeCertificates(mkdirAt(runDir, 'pki'), ['host1', 'host2']);
    goOn();
    const topology = await createTopology(names, p);
    goOn();
    teardown.add('namespaces and links', () => topology.remove());
    const ccd = mkdirAt(runDir, 'ccd');
    writeFileSync(join(ccd, 'host1'), clientConfigDirEntry(p.host1Address, p));
    writeFileSync(join(ccd, 'host2'), clientConfigDirEntry(p.host2Address, p));
    const serverConf = join(runDir, 'server.conf');
    writeFileSync(serverConf, serverConfig(p, { ca: certs.ca, cert: certs.server.cert, key: certs.server.key, tlsCrypt: certs.tlsCrypt, clientConfigDir: ccd }, NS_LINKS.serverTunnel), { mode: 0o600 });
    const serverArgv = inNetns(names.vpcNetns, 'openvpn', ['--config', serverConf]);
    const server = startChild('openvpn server', serverArgv.file, serverArgv.args);
    teardown.add('openvpn server', () => server.stop());
    await server.waitForLine(/Initialization Sequence Completed/, 'the server up', 15_000);
    goOn();
    const requestLogPath = join(runDir, 'elb-requests.jsonl');
    const spec: VpcEndpointSpec = {
      vpcCidr: p.vpcCidr,
      sourceAddress: p.loadBalancerAddress,
      requestLog: requestLogPath,
      propagationDelayMs: options.propagationDelayMs,
      targetGroup: {
        name: 'e2e-vpn', port: 80, healthCheckPath: '/',
        healthCheckIntervalSeconds: options.healthCheck.intervalSeconds, healthCheckTimeoutSeconds: options.healthCheck.timeoutSeconds,
        healthyThresholdCount: options.healthCheck.healthyThreshold, unhealthyThresholdCount: options.healthCheck.unhealthyThreshold,
        deregistrationDelaySeconds: options.deregistrationDelaySeconds,
      },
    };
    const endpointArgv = inNetns(names.vpcNetns, process.execPath, [TSX_CLI, join(REPO_ROOT, 'scripts/e2e-vpn/vpc-endpoint.ts'), JSON.stringify(spec)]);
    const endpoint = startChild('vpc endpoint', endpointArgv.file, endpointArgv.args, { cwd: REPO_ROOT });
    teardown.add('vpc endpoint', () => endpoint.stop());
    const ready = JSON.parse(await endpoint.waitForLine(/^\{.*"apiPort"/, 'its ready line', 30_000)) as VpcEndpointReady;
    const apiFromRoot = `http://${p.rootVpc.b}:${ready.apiPort}`;
    const listenerUrl = `http://${p.rootVpc.b}:${ready.listenerPort}/`;
    log(`load balancer up in ${names.vpcNetns}: API ${apiFromRoot}, listener ${listenerUrl}, ${ready.targetGroupArn}`);
    goOn();

    // ---- the hosts, as the installer sets them up
    const wrapper = writeAgentWrapper(mkdirAt(runDir, 'dist'));
    const suffix = names.runId.slice(-2);
    const hostSpec = (n: 1 | 2) => ({
      name: `host${n}`,
      ...(n === 2 ? { netns: names.host2Netns } : {}),
      root: mkdirAt(runDir, `host${n}-root`),
      vpnConfig: join(runDir, `host${n}.ovpn`),
      targetGroupArn: ready.targetGroupArn,
      region: ready.region,
      vpcCidr: p.vpcCidr,
      elbEndpoint: `http://${n === 1 ? p.rootVpc.b : p.host2Vpc.b}:${ready.apiPort}`,
      accessKeyId: `AKIDE2EVPNHOST${n}`,
      family: `e2e-vpn-host${n}-${suffix}`,
      containerName: 'app',
      fleetSize: 2,
    });
    const host1 = new VpnHost(hostSpec(1));
    const host2 = new VpnHost(hostSpec(2));
    writeFileSync(host1.spec.vpnConfig, clientConfig(p.rootVpc.b, names.host1Tunnel, await clientCredentials(certs, 'host1')), { mode: 0o600 });
    writeFileSync(host2.spec.vpnConfig, clientConfig(p.host2Vpc.b, 'tun', await clientCredentials(certs, 'host2')), { mode: 0o600 });
    for (const host of [host1, host2]) {
      await host.install(wrapper);
      teardown.add(`${host.spec.name} services`, () => host.stop());
      goOn();
    }
    const env1 = host1.agentEnv();
    const env2 = host2.agentEnv();
    check('install.sh --vpn-config: host 1 registers its own tunnel device', env1.includes(`ECS_ANYWHERE_LB_INTERFACE=${names.host1Tunnel}`), `agent.env: ${oneLine(env1)}`);
    check('install.sh --vpn-config: host 2 (dev tun) registers tun0', env2.includes('ECS_ANYWHERE_LB_INTERFACE=tun0'), `agent.env: ${oneLine(env2)}`);
    await Promise.all([host1.startVpn(), host2.startVpn()]);
    goOn();
    const tunnelAddress = async (netns: string | undefined, dev: string) => (await ip(netns, '-4', '-o', 'addr', 'show', 'dev', dev)).match(/inet (\S+)\//)?.[1];
    const a1 = await tunnelAddress(undefined, names.host1Tunnel);
    const a2 = await tunnelAddress(names.host2Netns, NS_LINKS.host2Tunnel);
    check('the tunnels are up with the client-config-dir addresses', a1 === p.host1Address && a2 === p.host2Address, `host 1 ${names.host1Tunnel} ${String(a1)}, host 2 tun0 ${String(a2)}`);
    for (const host of [host1, host2]) {
      const c = await host.check();
      check(`${host.spec.name}: ecs-anywhere-lb-agent check passes with the installed configuration`, c.code === 0, c.code === 0 ? (c.output.match(/address.*/)?.[0] ?? '') : c.output);
    }
    const agent1 = await host1.startAgent();
    goOn();
    const agent2 = await host2.startAgent();
    goOn();
    figures.setupMs = Date.now() - started;
    log(`agents running (host 1 pid ${String(agent1.pid)}, host 2 pid ${String(agent2.pid)} in ${names.host2Netns}); setup took ${figures.setupMs} ms`);

    // ---- containers with dynamic host ports become healthy targets at the tunnel addresses
    await ensureTestImage(docker, { log });
    teardown.add('containers', () => removeTestContainers(docker, { runId: names.runId }));
    const watch = new TargetWatch(apiFromRoot, ready.region, ready.targetGroupArn);
    teardown.add('target watch', () => watch.stop());
    const startContainer = (host: VpnHost, page: string): Promise<EcsContainer> =>
      startEcsContainer(docker, { family: host.spec.family, containerName: host.spec.containerName, runId: names.runId, ports: [CONTAINER_PORT], page, stopGraceSec: 3, stopTimeoutSec: 10 });
    const containersAt = Date.now();
    const [c1, c2] = await Promise.all([startContainer(host1, 'host1'), startContainer(host2, 'host2')]);
    goOn();
    const port1 = c1.hostPort(CONTAINER_PORT);
    const port2 = c2.hostPort(CONTAINER_PORT);
    const t1 = targetKey(p.host1Address, port1);
    const t1moved = targetKey(p.host1MovedAddress, port1);
    const t2 = targetKey(p.host2Address, port2);
    const [h1, h2] = await Promise.all([watch.waitForState(t1, 'healthy', options.stepTimeoutMs), watch.waitForState(t2, 'healthy', options.stepTimeoutMs)]);
    figures.host1HealthyMs = h1 - containersAt;
    figures.host2HealthyMs = h2 - containersAt;
    goOn();
    check('host 1: the container (dynamic host port) is a healthy target at the tunnel address', true, `${t1} healthy ${figures.host1HealthyMs} ms after the start`);
    check('host 2: its container is a healthy target in the same group', true, `${t2} healthy ${figures.host2HealthyMs} ms after the start`);
    watch.track(t2);
    // Both targets healthy: the listener (after its propagation delay) sends to both, through the tunnels.
    await sleep(options.propagationDelayMs + 200);
    figures.answeredBy = await probeListener(listenerUrl, 20, options.requestTimeoutMs);
    check('requests to the listener in the VPC are answered by the containers through the tunnels', (figures.answeredBy.host1 ?? 0) > 0 && (figures.answeredBy.host2 ?? 0) > 0 && Object.keys(figures.answeredBy).length === 2, JSON.stringify(figures.answeredBy));
    const loadGen: LoadGenerator = startLoad({ url: listenerUrl, ratePerSecond: options.ratePerSecond, timeoutMs: options.requestTimeoutMs, maxFailureRecords: 1_000_000 });
    teardown.add('load', () => loadGen.stop());

    // ---- tunnel down: unhealthy, the agent notices and keeps the target
    // The kernel's own word on when host 1's tun device goes; started well before, so it is listening by then.
    // `timeout`: a crashed run leaves no monitor behind for long (its command line does not name the run).
    const linkMonitor = startChild('ip monitor', 'timeout', ['300', 'ip', '-ts', '-o', 'monitor', 'link']);
    teardown.add('ip monitor', () => linkMonitor.stop());
    await sleep(1_000);
    const downMark = mark(loadGen);
    const downAt = downMark.at;
    const logFrom = agent1.logs.length;
    await host1.stopVpn();
    const deleted = await linkMonitor.waitForLine(new RegExp(`Deleted \\d+: ${names.host1Tunnel}[@:]`), `${names.host1Tunnel} deleted`, 5_000).catch(() => undefined);
    await linkMonitor.stop();
    // ip -ts prints local time to the microsecond; without the line (a monitor that missed it), when OpenVPN was seen gone.
    const tunGoneAt = Date.parse(/^\[([^\]]+?)\d{3}\]/.exec(deleted ?? '')?.[1] ?? '') || Date.now();
    figures.tunnelStopMs = tunGoneAt - downAt;
    const gone = await waitForAgentLine(agent1.logs, logFrom, (l) => l.event === 'address' && l.problem !== undefined, 'its address is gone', options.stepTimeoutMs, () => agent1.tail());
    figures.addressGoneLoggedMs = gone - tunGoneAt;
    const goneLine = agent1.logs.slice(logFrom).find((l) => l.event === 'address' && l.problem !== undefined);
    const since = deleted !== undefined ? 'the kernel deleted the tun device' : 'OpenVPN exited (ip monitor missed the deletion)';
    check('tunnel down: the agent logs that its address is gone', true, `${figures.addressGoneLoggedMs} ms after ${since}: "${String(goneLine?.message)}"`);
    const unhealthy = await watch.waitForState(t1, 'unhealthy', options.stepTimeoutMs);
    figures.unhealthyMs = unhealthy - downAt;
    goOn();
    // Two more address checks and a reconcile pass: the target must still be there.
    await sleep(4_500);
    const deregisteredWhileDown = agent1.logs.slice(logFrom).filter((l) => l.event === 'deregistered');
    check('tunnel down: the target turns unhealthy and the agent keeps it', watch.state(t1) === 'unhealthy' && deregisteredWhileDown.length === 0,
      `unhealthy ${figures.unhealthyMs} ms after the tunnel went down; ${t1} ${String(watch.state(t1))} 4.5 s later; ${deregisteredWhileDown.length} deregistrations`);

    // ---- tunnel back with another address: make before break
    writeFileSync(join(ccd, 'host1'), clientConfigDirEntry(p.host1MovedAddress, p));
    const upMark = mark(loadGen);
    const upAt = upMark.at;
    load.tunnelDown = phaseLoad(loadGen.stats(), downMark, upMark);
    const moveFrom = agent1.logs.length;
    await host1.startVpn();
    const a1moved = await tunnelAddress(undefined, names.host1Tunnel);
    check('tunnel back with the changed client-config-dir entry', a1moved === p.host1MovedAddress, `${names.host1Tunnel} ${String(a1moved)}`);
    const seen = await waitForAgentLine(agent1.logs, moveFrom, (l) => l.event === 'address' && l.address === p.host1MovedAddress, 'the new address', options.stepTimeoutMs, () => agent1.tail());
    figures.newAddressLoggedMs = seen - upAt;
    const newHealthy = await watch.waitForState(t1moved, 'healthy', options.stepTimeoutMs);
    figures.newTargetHealthyMs = newHealthy - upAt;
    const oldGone = await watch.waitForState(t1, 'absent', options.stepTimeoutMs);
    figures.oldTargetGoneMs = oldGone - upAt;
    goOn();
    const moveEnd = Math.max(newHealthy, oldGone) + options.propagationDelayMs + 500;
    while (Date.now() < moveEnd) await sleep(100);
    load.move = phaseLoad(loadGen.stats(), upMark, mark(loadGen));
    const calls = readRequestLog(requestLogPath).filter((e) => e.time >= upAt);
    const registeredAt = calls.find((e) => e.action === 'RegisterTargets' && e.status === 200 && e.targets?.some((t) => targetKey(t.id, t.port ?? 0) === t1moved))?.time;
    const deregisteredAt = calls.find((e) => e.action === 'DeregisterTargets' && e.status === 200 && e.targets?.some((t) => targetKey(t.id, t.port ?? 0) === t1))?.time;
    check('the agent moves its target to the new address, make before break', registeredAt !== undefined && deregisteredAt !== undefined && registeredAt <= deregisteredAt,
      `RegisterTargets ${t1moved} at +${String(registeredAt !== undefined ? registeredAt - upAt : undefined)} ms, DeregisterTargets ${t1} at +${String(deregisteredAt !== undefined ? deregisteredAt - upAt : undefined)} ms; new target healthy at +${figures.newTargetHealthyMs} ms`);

    // ---- the container stops: its target drains and leaves
    const stopMark = mark(loadGen);
    const stopAt = stopMark.at;
    const drainFrom = agent1.logs.length;
    const stopping = c1.stop(10);
    const dereg = await waitForAgentLine(agent1.logs, drainFrom, (l) => l.event === 'deregistered' && l.target === t1moved, `deregistered ${t1moved}`, options.stepTimeoutMs, () => agent1.tail());
    figures.deregisteredMs = dereg - stopAt;
    const drained = await watch.waitForState(t1moved, 'absent', options.stepTimeoutMs);
    figures.drainedMs = drained - stopAt;
    goOn();
    await stopping;
    const drainEnd = Date.now() + options.propagationDelayMs + 500;
    while (Date.now() < drainEnd) await sleep(100);
    load.drain = phaseLoad(loadGen.stats(), stopMark, mark(loadGen));
    check('the stopped container\'s target drains and leaves', true, `deregistered ${figures.deregisteredMs} ms after docker stop, gone after ${figures.drainedMs} ms`);

    // ---- host 2 stayed untouched
    const host2Calls = readRequestLog(requestLogPath).filter((e) => (e.action === 'RegisterTargets' || e.action === 'DeregisterTargets') && e.caller === host2.spec.accessKeyId);
    const h2track = watch.tracking(t2);
    check('host 2: its target stayed healthy and untouched throughout', watch.state(t2) === 'healthy' && h2track?.notHealthy === 0 && host2Calls.length === 1 && host2Calls[0]?.action === 'RegisterTargets',
      `${t2} not healthy in ${String(h2track?.notHealthy)} of ${String(h2track?.samples)} DescribeTargetHealth samples since it turned healthy; host 2's change calls: ${host2Calls.map((c) => c.action).join(', ')}`);
    const others = readRequestLog(requestLogPath).filter((e) => e.action === 'DeregisterTargets' && e.targets?.some((t) => t.id === p.host2Address));
    check('host 1 never deregistered a target of host 2', others.length === 0, `${others.length} calls`);

    const stats = await loadGen.stop();
    load.total = { sent: stats.sent, failed: stats.failed, failures: countFailures(stats.failures), ok: stats.ok, latencyMs: stats.latencyMs };
  } catch (e) {
    if (!env.signal?.aborted) {
      error = e instanceof Error ? e.message : String(e);
      log(`stopped: ${error}`);
    }
  } finally {
    for (const problem of await teardown.run()) log(`cleanup: ${problem}`);
  }

  // ---- nothing of this run is left (and the machine's routes no longer mention its block)
  let leftAfter: FootprintItem[] = [];
  try {
    const after = await removeRunFootprint(docker, process.pid);
    leftAfter = after.left;
    if (leftAfter.length > 0) log(`left after cleanup, removed now:\n${describeFootprint(leftAfter)}`);
    for (const p of after.problems) log(`cleanup: ${p}`);
    const routes = plan ? (await ip(undefined, '-4', 'route', 'show', 'table', 'all')).split('\n').filter((l) => l.includes(`${plan?.block.split('.').slice(0, 2).join('.')}.`)) : [];
    check('cleanup: no namespace, link, process, container or directory of this run is left (ip netns, ip link, /proc, docker ps -a)', leftAfter.length === 0, describeFootprint(leftAfter));
    check('cleanup: no route of the run\'s block is left', routes.length === 0, routes.join('; ') || 'none');
  } catch (e) {
    check('cleanup could be verified', false, e instanceof Error ? e.message : String(e));
  }
  const passed = error === undefined && checks.every((c) => c.ok);
  return {
    startedAt,
    totalMs: Date.now() - started,
    ...(network ? { network } : {}),
    figures,
    load,
    checks,
    leftoversRemoved,
    leftAfter: leftAfter.map((i) => `${i.kind} ${i.name}`),
    ...(error !== undefined ? { error } : {}),
    passed,
  };
}

function mkdirAt(base: string, name: string): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function oneLine(text: string): string {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/(SECRET|TOKEN)[^=]*=.*/i, '$1=***')).join('; ');
}
