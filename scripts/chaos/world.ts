/**
 * The soak's world: the shared Docker engine behind a socket proxy the soak can cut, the
 * local ELBv2 endpoint with the target groups, a network namespace whose interface address
 * the soak renumbers, a tmpfs state directory it can fill, a rotating credentials file, a
 * mapping file, and a second host's SDK client. `close()` undoes all of it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type Docker from 'dockerode';
import { connectDocker, startDockerEngine } from '../../test/support/docker-engine.ts';
import { removeTestContainers, testRunId } from '../../test/support/ecs-container.ts';
import { startLocalElbv2, type LocalElbv2 } from '../../test/support/local-elbv2/index.ts';
import { createTestNetns, netnsUnavailableReason, type TestNetns } from '../../test/support/netns.ts';
import { credentialsNumber, writeCredentialsFile, writeFileAtomically } from '../../test/support/shared-credentials-file.ts';
import { startSocketProxy, type SocketProxy } from '../../test/support/socket-proxy.ts';
import { ensureTestImage } from '../../test/support/test-image.ts';
import { ALLOWED_GROUPS, MAPPED_GROUP } from './scenario.ts';

/** The second host: its address (never this host's) and its access key. */
export const OTHER_HOST = { address: '10.8.0.99', accessKeyId: 'AKIDOTHERHOST0000001' } as const;
/** This host's address when no network namespace can be made (then the address never changes). */
export const FIXED_HOST_IP = '10.8.0.10';
/** Addresses the soak gives this host's interface in turn (a VPN reconnect may hand back an old one). */
export const HOST_ADDRESSES = ['10.77.0.10', '10.77.0.11', '10.77.0.12', '10.77.0.13'] as const;
export const HOST_INTERFACE = 'vpn0';
/** A group that exists but is not in --allowed-target-groups, and the family/container the mapping file maps. */
export const DISALLOWED_GROUP = 'chaos-x';
export const MAPPED_FAMILY = 'chaos-mapped';
/** Size of the state directory's tmpfs: room for the state file many times over, small enough to fill at once. */
const STATE_TMPFS_SIZE = '1m';

export interface ChaosWorld {
  readonly docker: Docker;
  readonly runId: string;
  readonly elb: LocalElbv2;
  /** Group name -> ARN: the allowed groups and the disallowed one. */
  readonly groups: Readonly<Record<string, string>>;
  /** An ARN well formed and allowed, but of a group that does not exist. */
  readonly unknownGroupArn: string;
  readonly proxy: SocketProxy;
  /** Undefined when namespaces are unavailable: then the agent runs with --host-ip. */
  readonly netns?: TestNetns;
  readonly netnsUnavailable?: string;
  /** The address this host's interface has now. */
  address: string;
  readonly stateDir: string;
  /** Why the state dir is not a tmpfs of its own (then a full disk cannot be injected). */
  readonly stateTmpfsUnavailable?: string;
  readonly credentialsFile: string;
  /** The number of the credentials in the file now (see credentialsNumber). */
  credentials: number;
  readonly mappingFile: string;
  readonly mappingText: string;
  readonly otherHost: ElasticLoadBalancingV2Client;
  /** The agent's environment (the executable and args come from agentCommand). */
  agentEnv(): Record<string, string | undefined>;
  /** How to run the agent bundle: inside the namespace when there is one. */
  agentCommand(bundle: string): { executable: string; args: string[] };
  close(): Promise<void>;
}

/** Builds the world; on failure undoes what was done. */
export async function createChaosWorld(log: (line: string) => void): Promise<ChaosWorld> {
  const undo: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const step of undo.reverse()) await Promise.resolve().then(step).catch((error: unknown) => log(`cleanup: ${String(error)}`));
  };
  try {
    // The engine at DOCKER_HOST when one answers (never restarted: "engine restarts" are cuts of the proxy below), else a private one.
    const engine = await startDockerEngine({ log: (line) => log(`docker: ${line}`) });
    undo.push(() => engine.stop());
    const enginePath = engine.socketPath;
    if (enginePath === undefined) throw new Error(`DOCKER_HOST ${engine.dockerHost} is not a unix socket: the soak cuts the agent's Docker connection with a unix-socket proxy`);
    process.env.DOCKER_HOST = engine.dockerHost;
    const docker = connectDocker(engine.dockerHost);
    await ensureTestImage(docker);
    const runId = testRunId();
    undo.push(() => removeTestContainers(docker, { runId }).then(() => undefined));

    const dir = mkdtempSync(join(tmpdir(), 'ecslb-chaos-'));
    undo.push(() => rmSync(dir, { recursive: true, force: true }));

    const netnsUnavailable = netnsUnavailableReason();
    let netns: TestNetns | undefined;
    if (netnsUnavailable === undefined) {
      netns = await createTestNetns();
      undo.push(() => netns?.remove());
      await netns.addInterface(HOST_INTERFACE, `${HOST_ADDRESSES[0]}/24`);
    } else log(`no network namespace (${netnsUnavailable}): the host address stays ${FIXED_HOST_IP}`);

    const first = credentialsNumber(1);
    const elb = await startLocalElbv2({
      host: netns?.rootAddress ?? '127.0.0.1',
      healthCheckAddress: '127.0.0.1',
      healthCheckIntervalMs: 1_000,
      deregistrationDelaySeconds: 1,
      acceptedAccessKeyIds: [first.accessKeyId, OTHER_HOST.accessKeyId],
    });
    undo.push(() => elb.close());
    const groups: Record<string, string> = {};
    for (const name of [...ALLOWED_GROUPS, DISALLOWED_GROUP]) {
      groups[name] = await elb.createTargetGroup({ name, port: 80, healthCheckPath: '/', healthyThresholdCount: 2, unhealthyThresholdCount: 2 });
    }
    const unknownGroupArn = `arn:aws:elasticloadbalancing:${elb.region}:${elb.accountId}:targetgroup/chaos-gone/00000000deadbeef`;

    const proxy = await startSocketProxy(join(dir, 'docker.sock'), enginePath);
    undo.push(() => proxy.close());

    const stateDir = join(dir, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    let stateTmpfsUnavailable: string | undefined;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${STATE_TMPFS_SIZE},mode=0700`, 'tmpfs', stateDir], { stdio: 'pipe' });
      undo.push(() => {
        execFileSync('umount', ['-l', stateDir], { stdio: 'pipe' });
      });
    } catch (error) {
      stateTmpfsUnavailable = `cannot mount a tmpfs on the state dir: ${(error as { stderr?: Buffer }).stderr?.toString().trim() || String(error)}`;
      log(stateTmpfsUnavailable);
    }

    const credentialsFile = join(dir, 'aws', 'credentials');
    writeCredentialsFile(credentialsFile, first);
    const mappingFile = join(dir, 'mapping.json');
    const mappingText = `${JSON.stringify({ mappings: [{ family: MAPPED_FAMILY, containerName: 'app', targetGroupArn: groups[MAPPED_GROUP] }] }, null, 2)}\n`;
    writeFileAtomically(mappingFile, mappingText);
    writeFileSync(join(dir, 'README'), 'chaos soak scratch directory (removed at the end of the run)\n');

    const otherHost = new ElasticLoadBalancingV2Client({
      endpoint: elb.url,
      region: elb.region,
      credentials: { accessKeyId: OTHER_HOST.accessKeyId, secretAccessKey: 'other-host-secret' },
      maxAttempts: 1,
      requestHandler: { requestTimeout: 3_000 },
    });
    undo.push(() => otherHost.destroy());

    const world: ChaosWorld = {
      docker,
      runId,
      elb,
      groups,
      unknownGroupArn,
      proxy,
      ...(netns ? { netns } : { netnsUnavailable }),
      address: netns ? HOST_ADDRESSES[0] : FIXED_HOST_IP,
      stateDir,
      ...(stateTmpfsUnavailable !== undefined ? { stateTmpfsUnavailable } : {}),
      credentialsFile,
      credentials: 1,
      mappingFile,
      mappingText,
      otherHost,
      agentEnv: () => ({
        DOCKER_HOST: proxy.dockerHost,
        AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elb.url,
        AWS_REGION: elb.region,
        AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
        ...(netns ? { ECS_ANYWHERE_LB_INTERFACE: HOST_INTERFACE } : { ECS_ANYWHERE_LB_HOST_IP: FIXED_HOST_IP }),
        ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: [...ALLOWED_GROUPS.map((g) => groups[g]), unknownGroupArn].join(','),
        ECS_ANYWHERE_LB_STATE_DIR: stateDir,
        ECS_ANYWHERE_LB_MAPPING_FILE: mappingFile,
        ECS_ANYWHERE_LB_LOG_FORMAT: 'json',
        ECS_ANYWHERE_LB_LOG_LEVEL: 'info',
        ECS_ANYWHERE_LB_ON_EXIT: 'keep',
        // A lone host: no fleet-wide spreading of its reads.
        ECS_ANYWHERE_LB_FLEET_SIZE: '1',
        // The gate listens on the Docker bridge, which a namespaced agent cannot bind; gated containers are registered as soon as they run either way.
        ECS_ANYWHERE_LB_READINESS_ADDRESS: 'off',
        // No ECS agent answers here: no address attribute.
        ECS_ANYWHERE_LB_ECS_INTROSPECTION_ENDPOINT: 'off',
      }),
      agentCommand: (bundle) => (netns ? netns.exec(process.execPath, [bundle, 'run']) : { executable: process.execPath, args: [bundle, 'run'] }),
      close,
    };
    return world;
  } catch (error) {
    await close();
    throw error;
  }
}
