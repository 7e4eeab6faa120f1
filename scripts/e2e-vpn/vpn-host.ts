/**
 * One ECS Anywhere host of e2e:vpn: `installer/install.sh --root` puts the agent, its unit,
 * agent.env and the OpenVPN client config into a scratch root (systemd is not PID 1 on these
 * machines), then the host's services are started the way their units say: the OpenVPN
 * client as Debian's openvpn-client@ecs-anywhere.service runs it (WorkingDirectory, ExecStart),
 * the agent as ecs-anywhere-lb-agent.service does (ExecStart, EnvironmentFile=agent.env,
 * Environment, StateDirectory), in the host's network namespace (host 1: the root one).
 * The agent binary is the bundle behind a two-line wrapper, given to the installer with its
 * --sha256 (this run wrote it, so this run vouches for it); it talks to the machine's Docker
 * engine (DOCKER_HOST).
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AgentProcess, REPO_ROOT, ensureAgentBundle, runAgentCommand } from '../../test/support/agent-process.ts';
import { credentialsFileText } from '../../test/support/shared-credentials-file.ts';
import { command, inNetns, startChild, type Child } from './command.ts';
import { serviceCommand } from './service-command.ts';

/** Debian's unit for /etc/openvpn/client/NAME.conf (package openvpn). */
export const OPENVPN_CLIENT_UNIT = '/lib/systemd/system/openvpn-client@.service';
/** The instance install.sh enables (openvpn-client@ecs-anywhere.service). */
export const VPN_INSTANCE = 'ecs-anywhere';
const AGENT_UNIT = 'etc/systemd/system/ecs-anywhere-lb-agent.service';
const AGENT_ENV = 'etc/ecs-anywhere-lb-agent/agent.env';

/** What a host is told at install time. */
export interface VpnHostSpec {
  readonly name: string;
  /** Its network namespace; undefined: the root namespace. */
  readonly netns?: string;
  /** Scratch root (created). */
  readonly root: string;
  /** The .ovpn its VPN administrator handed out. */
  readonly vpnConfig: string;
  readonly targetGroupArn: string;
  readonly region: string;
  readonly vpcCidr: string;
  /** The ELB API as this host reaches it (over its underlay, not the tunnel). */
  readonly elbEndpoint: string;
  /** The access key id of its credentials (the endpoint's request log tells the hosts apart by it). */
  readonly accessKeyId: string;
  /** Task family -> its container joins the group (the host's mapping file). */
  readonly family: string;
  readonly containerName: string;
  /** Hosts that share the account (the agent's --fleet-size). */
  readonly fleetSize: number;
}

/** An installed host: its files, and its services once started. */
export class VpnHost {
  vpn: Child | undefined;
  agent: AgentProcess | undefined;
  /** The installer's output. */
  installOutput = '';

  constructor(readonly spec: VpnHostSpec) {}

  get agentEnvPath(): string {
    return join(this.spec.root, AGENT_ENV);
  }

  /** Runs install.sh --root with --vpn-config and the host's settings; throws with its output on failure. */
  async install(wrapperBinary: string): Promise<void> {
    const s = this.spec;
    const etc = join(s.root, 'etc/ecs-anywhere-lb-agent');
    mkdirSync(etc, { recursive: true });
    const mapping = join(etc, 'mapping.json');
    writeFileSync(mapping, `${JSON.stringify({ mappings: [{ family: s.family, containerName: s.containerName, targetGroupArn: s.targetGroupArn }] }, null, 2)}\n`);
    const credentials = join(s.root, 'root/.aws/credentials');
    mkdirSync(dirname(credentials), { recursive: true });
    writeFileSync(credentials, credentialsFileText({ accessKeyId: s.accessKeyId, secretAccessKey: `secret-${s.accessKeyId}`, sessionToken: `token-${s.accessKeyId}` }), { mode: 0o600 });
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ECS_ANYWHERE_LB_')) env[k] = v;
    const args = [
      join(REPO_ROOT, 'installer/install.sh'),
      '--root', s.root,
      '--binary', wrapperBinary,
      '--sha256', createHash('sha256').update(readFileSync(wrapperBinary)).digest('hex'),
      '--unit', join(REPO_ROOT, 'systemd/ecs-anywhere-lb-agent.service'),
      '--vpn-config', s.vpnConfig,
      '--target-groups', s.targetGroupArn,
      '--mapping-file', mapping,
      '--region', s.region,
      '--vpc-cidr', s.vpcCidr,
      '--log-format', 'json',
      '--set', `FLEET_SIZE=${s.fleetSize}`,
      // The gate listens on the Docker bridge's gateway, which host 2's namespace does not have; no container here uses it.
      '--set', 'READINESS_ADDRESS=off',
      // No ECS agent answers here: no address attribute.
      '--set', 'ECS_INTROSPECTION_ENDPOINT=off',
      '--set', `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=${s.elbEndpoint}`,
      '--set', `AWS_SHARED_CREDENTIALS_FILE=${credentials}`,
      // Checked below once the tunnel is up, as install.sh does after starting the services.
      '--no-check',
    ];
    try {
      this.installOutput = await command('bash', args, { env });
    } catch (error) {
      throw new Error(`${s.name}: install.sh failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /** The agent.env the installer wrote, as KEY=VALUE lines. */
  agentEnv(): string {
    return readFileSync(this.agentEnvPath, 'utf8');
  }

  /** Starts the OpenVPN client as its unit would (in the host's namespace); resolves once the tunnel is up. */
  async startVpn(timeoutMs = 20_000): Promise<void> {
    const unit = serviceCommand(this.spec.root, 'etc/systemd/system/openvpn-client@.service', { instance: VPN_INSTANCE, unitPath: OPENVPN_CLIENT_UNIT });
    const argv = inNetns(this.spec.netns, unit.argv[0] as string, unit.argv.slice(1));
    this.vpn = startChild(`${this.spec.name} openvpn`, argv.file, argv.args, { ...(unit.cwd !== undefined ? { cwd: unit.cwd } : {}), env: { PATH: process.env.PATH, ...unit.env } });
    await this.vpn.waitForLine(/Initialization Sequence Completed/, 'the tunnel up', timeoutMs);
  }

  /** Stops the OpenVPN client (SIGTERM: it tells the server, the tun device goes away). */
  async stopVpn(): Promise<void> {
    await this.vpn?.stop();
    this.vpn = undefined;
  }

  /** The agent's command and environment from its installed unit. */
  private agentCommand(): { argv: string[]; env: Record<string, string> } {
    const unit = serviceCommand(this.spec.root, AGENT_UNIT);
    if (unit.stateDirectory !== undefined) mkdirSync(unit.stateDirectory, { recursive: true, mode: 0o700 });
    const argv = inNetns(this.spec.netns, unit.argv[0] as string, unit.argv.slice(1));
    return { argv: [argv.file, ...argv.args], env: unit.env };
  }

  /** `ecs-anywhere-lb-agent check` with the unit's environment, as install.sh runs it after starting the services. */
  async check(): Promise<{ code: number | null; output: string }> {
    const { argv, env } = this.agentCommand();
    const args = [...argv.slice(1, -1), 'check'];
    const result = await runAgentCommand({ executable: argv[0] as string, args, env });
    return { code: result.code, output: `${result.stdout}${result.stderr}`.trim() };
  }

  /** Starts the agent as its unit would; resolves after its first reconcile. */
  async startAgent(): Promise<AgentProcess> {
    const { argv, env } = this.agentCommand();
    this.agent = new AgentProcess({ executable: argv[0] as string, args: argv.slice(1), env });
    await this.agent.ready(30_000);
    return this.agent;
  }

  async stop(): Promise<void> {
    await this.agent?.stop('SIGTERM', 10_000);
    await this.stopVpn();
  }
}

/** Writes the agent bundle's wrapper "binary" into `dir`; returns its path. */
export function writeAgentWrapper(dir: string): string {
  const bundle = ensureAgentBundle();
  const file = join(dir, 'ecs-anywhere-lb-agent-linux-x64');
  const text = `#!/bin/sh\nexec '${process.execPath}' '${bundle}' "$@"\n`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, 0o755);
  return file;
}
