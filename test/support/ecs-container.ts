// Containers that look to the agent exactly like the ones the ECS agent creates on an
// ECS Anywhere host (name scheme, the five com.amazonaws.ecs.* labels, dockerLabels,
// bridge mode with a dynamic host port or host mode), running busybox httpd so tests
// can reach them, with a switchable HEALTHCHECK and a configurable SIGTERM grace.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { TEST_IMAGE } from './test-image.ts';
import { waitFor } from './wait.ts';

// Kept here too: tests import it from this module.
export { freeTcpPort } from './free-ports.ts';

/** Label on every container this harness creates. */
export const TEST_CONTAINER_LABEL = 'ecs-anywhere-lb-test.harness';
/** Label carrying the test run id, so one run's cleanup never touches another's containers. */
export const TEST_RUN_LABEL = 'ecs-anywhere-lb-test.run';

/** The labels the ECS agent puts on every task container. */
export const ECS_LABELS = {
  taskArn: 'com.amazonaws.ecs.task-arn',
  containerName: 'com.amazonaws.ecs.container-name',
  family: 'com.amazonaws.ecs.task-definition-family',
  version: 'com.amazonaws.ecs.task-definition-version',
  cluster: 'com.amazonaws.ecs.cluster',
} as const;

/** One published port; `hostPort` 0 or absent means a dynamic host port. */
export interface PortSpec {
  containerPort: number;
  hostPort?: number;
  /** Bind only this host address (default: all addresses). */
  hostIp?: string;
  protocol?: 'tcp' | 'udp';
}

/** HEALTHCHECK settings; the check is `wget http://127.0.0.1:<port>/health` unless `command` says otherwise. */
export interface HealthcheckSpec {
  /**
   * Docker's `Test`, as an ECS task definition's `healthCheck.command` has it: `['CMD-SHELL',
   * 'wget -q -O- http://10.254.0.1:9465/ready || exit 1']` or `['CMD', ...]`. Default: the
   * `/health` page on `port`, which setHealthy() flips.
   */
  command?: string[];
  /** Container port probed by the default command (default: the first tcp port). */
  port?: number;
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

/** What every test container can be told: networking, page, health, stop behaviour. */
export interface ServingContainerOptions {
  image?: string;
  /** `bridge` (default, like ECS bridge mode), `host`, `none`, or a network name. */
  networkMode?: string;
  /** Ports httpd serves and (outside host mode) publishes; default `[8080]`. */
  ports?: Array<number | PortSpec>;
  /** Content of `/index.html`; default the container name. */
  page?: string;
  /** Adds a HEALTHCHECK (true = defaults: 500 ms interval, 2 retries). */
  healthcheck?: boolean | HealthcheckSpec;
  /** Whether `/health` exists at start (default true). */
  healthy?: boolean;
  /** Seconds the container keeps serving after SIGTERM before exiting (default 0: it exits at once); fractions allowed. */
  stopGraceSec?: number;
  /** Docker's StopTimeout (the ECS task's stopTimeout); default Docker's 10 s. */
  stopTimeoutSec?: number;
  /** The image's STOPSIGNAL (e.g. SIGQUIT as nginx has); `docker stop` sends it instead of SIGTERM. */
  stopSignal?: string;
  env?: string[];
  /** Run id label; default {@link testRunId}(). */
  runId?: string;
  /** Start the container (default true); else only create it. */
  start?: boolean;
  /** After start, wait until every tcp port serves the page (default true). */
  waitUntilServing?: boolean;
}

/** Options of {@link startEcsContainer}: the task definition and task it pretends to come from. */
export interface EcsContainerOptions extends ServingContainerOptions {
  family?: string;
  revision?: number | string;
  /** The container's name in the task definition (default `app`). */
  containerName?: string;
  cluster?: string;
  /** Share one task ARN between containers of one task; default a fresh one. */
  taskArn?: string;
  region?: string;
  accountId?: string;
  /** The task definition's dockerLabels (the ECS labels win on a clash, as in ECS). */
  dockerLabels?: Record<string, string>;
}

/** Options of {@link startPlainContainer}: a container not started by ECS (compose, docker run). */
export interface PlainContainerOptions extends ServingContainerOptions {
  /** Default `ecslbtest-plain-<hex>`. */
  name?: string;
  labels?: Record<string, string>;
  /** Adds docker compose's project/service/container-number labels. */
  compose?: { project: string; service: string; number?: number };
}

/** Output of a `docker exec`. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A running (or created) test container and the handles tests need. */
export interface TestContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  networkMode: string;
  ports: PortSpec[];
  container: Docker.Container;
  /** Starts a container created with `start: false` (or restarts a stopped one). */
  start(): Promise<void>;
  /** Host port of a container port, from the last inspect (host mode: the container port). */
  hostPort(containerPort?: number, protocol?: 'tcp' | 'udp'): number;
  /** `http://<host address>:<host port><path>` for a tcp port (default the first). */
  url(path?: string, containerPort?: number): string;
  inspect(): Promise<Docker.ContainerInspectInfo>;
  /** Re-reads the inspect data `hostPort` uses. */
  refresh(): Promise<Docker.ContainerInspectInfo>;
  /** `docker stop -t`; a no-op if already stopped. */
  stop(timeoutSec?: number): Promise<void>;
  /** `docker kill -s` (default SIGKILL, like docker kill). */
  kill(signal?: string): Promise<void>;
  /** `docker rm -f -v`; a no-op if already gone. */
  remove(): Promise<void>;
  /** Creates or deletes `/health`, flipping the HEALTHCHECK's verdict. */
  setHealthy(healthy: boolean): Promise<void>;
  /** State.Health.Status (`starting`, `healthy`, `unhealthy`), undefined without HEALTHCHECK. */
  healthStatus(): Promise<string | undefined>;
  waitForHealth(status: 'healthy' | 'unhealthy' | 'starting', timeoutMs?: number): Promise<void>;
  exec(cmd: string[]): Promise<ExecResult>;
  logs(): Promise<string>;
}

/** A test container that carries an ECS task's identity. */
export interface EcsContainer extends TestContainer {
  taskArn: string;
  family: string;
  revision: string;
  /** The task definition's container name (unsanitized, as in the container-name label). */
  containerName: string;
  cluster: string;
}

// PID 1 of every test container. httpd runs in the background so that the shell can
// trap SIGTERM and keep serving for ECSLB_GRACE seconds, like an app draining in-flight
// requests; /www/health is the HEALTHCHECK's page and setHealthy() adds or removes it.
// The image's /cgi-bin/sleep?SECONDS answers the page after SECONDS (a slow request).
const SERVE_SCRIPT = `
mkdir -p /www
printf '%s\\n' "$ECSLB_PAGE" > /www/index.html
if [ "$ECSLB_HEALTHY" = 1 ]; then echo ok > /www/health; fi
pids=
for port in $ECSLB_PORTS; do
  httpd -f -p "$port" -h /www &
  pids="$pids $!"
done
on_term() {
  echo "SIGTERM: serving \${ECSLB_GRACE}s more"
  if [ "$ECSLB_GRACE" != 0 ]; then sleep "$ECSLB_GRACE"; fi
  kill $pids 2>/dev/null
  echo "exiting"
  exit 0
}
trap on_term TERM INT
echo "serving on ports:$ECSLB_PORTS"
wait
echo "all httpd exited"
exit 1
`;

/** The run id test containers are labelled with: env `ECSLB_TEST_RUN_ID` (set by global setup), else a new one. */
export function testRunId(): string {
  process.env.ECSLB_TEST_RUN_ID ||= `run-${process.pid}-${randomHex(6)}`;
  return process.env.ECSLB_TEST_RUN_ID;
}

/** `n` random lowercase hex characters. */
export function randomHex(n: number): string {
  return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}

/** A task ARN in the long format: `arn:aws:ecs:<region>:<account>:task/<cluster>/<32 hex>`. */
export function newTaskArn(cluster = 'test-cluster', region = 'us-east-1', accountId = '123456789012'): string {
  return `arn:aws:ecs:${region}:${accountId}:task/${cluster}/${randomHex(32)}`;
}

/** The Docker name the ECS agent gives a task container (invalid characters dropped from the container name). */
export function ecsContainerDockerName(family: string, revision: number | string, containerName: string): string {
  return `ecs-${family}-${revision}-${containerName.replace(/[^A-Za-z0-9-]+/g, '')}-${randomHex(20)}`;
}

/** Starts a container the way the ECS agent would start a task's container. */
export async function startEcsContainer(docker: Docker, options: EcsContainerOptions = {}): Promise<EcsContainer> {
  const family = options.family ?? 'web';
  const revision = String(options.revision ?? 1);
  const containerName = options.containerName ?? 'app';
  const cluster = options.cluster ?? 'test-cluster';
  const taskArn = options.taskArn ?? newTaskArn(cluster, options.region, options.accountId);
  const name = ecsContainerDockerName(family, revision, containerName);
  const labels: Record<string, string> = {
    ...options.dockerLabels,
    [ECS_LABELS.taskArn]: taskArn,
    [ECS_LABELS.containerName]: containerName,
    [ECS_LABELS.family]: family,
    [ECS_LABELS.version]: revision,
    [ECS_LABELS.cluster]: cluster,
  };
  const base = await startServingContainer(docker, name, labels, options);
  return Object.assign(base, { taskArn, family, revision, containerName, cluster });
}

/** Starts a serving container that ECS did not create (e.g. docker compose or docker run). */
export async function startPlainContainer(docker: Docker, options: PlainContainerOptions = {}): Promise<TestContainer> {
  const name = options.name ?? `ecslbtest-plain-${randomHex(8)}`;
  const labels: Record<string, string> = { ...options.labels };
  if (options.compose) {
    labels['com.docker.compose.project'] = options.compose.project;
    labels['com.docker.compose.service'] = options.compose.service;
    labels['com.docker.compose.container-number'] = String(options.compose.number ?? 1);
    labels['com.docker.compose.oneoff'] = 'False';
  }
  return startServingContainer(docker, name, labels, options);
}

/** Selector of {@link removeTestContainers}. */
export interface RemoveTestContainersSelector {
  /** Only this run's containers (default {@link testRunId}()); `'all'` for every harness container. */
  runId?: string;
  /** Only containers whose name starts with this. */
  namePrefix?: string;
  /** Only containers with this label (`key` or `key=value`). */
  label?: string;
}

/** Force-removes harness containers (default: this run's); returns how many. */
export async function removeTestContainers(docker: Docker, selector: RemoveTestContainersSelector = {}): Promise<number> {
  const runId = selector.runId ?? testRunId();
  const labelFilters = [`${TEST_CONTAINER_LABEL}=1`];
  if (runId !== 'all') labelFilters.push(`${TEST_RUN_LABEL}=${runId}`);
  if (selector.label) labelFilters.push(selector.label);
  const containers = await docker.listContainers({ all: true, filters: { label: labelFilters } });
  const chosen = containers.filter(
    (c) => !selector.namePrefix || c.Names.some((n) => n.replace(/^\//, '').startsWith(selector.namePrefix ?? '')),
  );
  await Promise.all(chosen.map((c) => removeQuietly(docker.getContainer(c.Id))));
  return chosen.length;
}

async function startServingContainer(
  docker: Docker,
  name: string,
  labels: Record<string, string>,
  options: ServingContainerOptions,
): Promise<TestContainer> {
  const networkMode = options.networkMode ?? 'bridge';
  const hostMode = networkMode === 'host';
  const ports = (options.ports ?? [8080]).map((p) => (typeof p === 'number' ? { containerPort: p } : p));
  const tcpPorts = ports.filter((p) => (p.protocol ?? 'tcp') === 'tcp').map((p) => p.containerPort);
  const healthcheck = options.healthcheck === true ? {} : options.healthcheck || undefined;
  const healthPort = healthcheck?.port ?? tcpPorts[0];
  if (healthcheck && !healthcheck.command && healthPort === undefined) throw new Error(`${name}: a HEALTHCHECK needs a tcp port`);
  if (healthcheck?.command && !/^CMD(-SHELL)?$/.test(healthcheck.command[0] ?? '')) {
    throw new Error(`${name}: a HEALTHCHECK command starts with CMD or CMD-SHELL, not ${JSON.stringify(healthcheck.command[0])}`);
  }

  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  // Like the ECS agent: ports are exposed in every mode, published only outside host mode.
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol ?? 'tcp'}`;
    exposed[key] = {};
    if (hostMode || networkMode === 'none') continue;
    (bindings[key] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: p.hostPort ? String(p.hostPort) : '' });
  }
  const allLabels = { ...labels, [TEST_CONTAINER_LABEL]: '1', [TEST_RUN_LABEL]: options.runId ?? testRunId() };
  const ms = 1_000_000; // Docker durations are nanoseconds
  const container = await docker.createContainer({
    name,
    Image: options.image ?? TEST_IMAGE,
    Cmd: ['/bin/sh', '-c', SERVE_SCRIPT],
    Env: [
      `ECSLB_PAGE=${options.page ?? name}`,
      `ECSLB_PORTS=${tcpPorts.join(' ')}`,
      `ECSLB_GRACE=${options.stopGraceSec ?? 0}`,
      `ECSLB_HEALTHY=${options.healthy === false ? 0 : 1}`,
      ...(options.env ?? []),
    ],
    Labels: allLabels,
    ExposedPorts: exposed,
    ...(options.stopTimeoutSec === undefined ? {} : { StopTimeout: options.stopTimeoutSec }),
    ...(options.stopSignal === undefined ? {} : { StopSignal: options.stopSignal }),
    ...(healthcheck
      ? {
          Healthcheck: {
            Test: healthcheck.command ?? ['CMD-SHELL', `wget -q -O- http://127.0.0.1:${healthPort}/health || exit 1`],
            Interval: (healthcheck.intervalMs ?? 500) * ms,
            Timeout: (healthcheck.timeoutMs ?? 2_000) * ms,
            Retries: healthcheck.retries ?? 2,
            StartPeriod: (healthcheck.startPeriodMs ?? 0) * ms,
          },
        }
      : {}),
    HostConfig: {
      NetworkMode: networkMode,
      ...(hostMode || networkMode === 'none' ? {} : { PortBindings: bindings }),
    },
  });

  let info: Docker.ContainerInspectInfo | undefined;
  const refresh = async () => (info = await container.inspect());
  const requireInfo = () => {
    if (!info) throw new Error(`${name}: not started yet`);
    return info;
  };
  const hostPort = (containerPort = ports[0]?.containerPort, protocol: 'tcp' | 'udp' = 'tcp'): number => {
    if (containerPort === undefined) throw new Error(`${name}: has no ports`);
    if (hostMode) return containerPort;
    const list = requireInfo().NetworkSettings.Ports[`${containerPort}/${protocol}`] ?? [];
    const binding = list.find((b) => !b.HostIp.includes(':')) ?? list[0];
    if (!binding) throw new Error(`${name}: no host binding for ${containerPort}/${protocol}`);
    return Number(binding.HostPort);
  };
  const hostAddress = (containerPort: number): string => {
    const ip = hostMode ? undefined : ports.find((p) => p.containerPort === containerPort)?.hostIp;
    return ip && ip !== '0.0.0.0' && ip !== '::' ? ip : '127.0.0.1';
  };
  const url = (path = '/', containerPort = tcpPorts[0]): string => {
    if (containerPort === undefined) throw new Error(`${name}: has no tcp port`);
    return `http://${hostAddress(containerPort)}:${hostPort(containerPort)}${path}`;
  };
  const exec = (cmd: string[]) => execInContainer(container, cmd);
  const start = async () => {
    await container.start();
    await refresh();
    if (options.waitUntilServing !== false && networkMode !== 'none') {
      // Every port: the script starts one httpd per port, one after the other, and a loaded machine
      // can have the first serving while a later one is not listening yet (Docker then closes the connection).
      for (const port of tcpPorts) {
        const target = url('/', port);
        await waitFor(
          async () => (await fetch(target, { signal: AbortSignal.timeout(1_000) })).ok,
          { description: `${name} serving ${target}`, timeoutMs: 15_000, intervalMs: 50 },
        );
      }
    }
  };

  const handle: TestContainer = {
    id: container.id,
    name,
    labels: allLabels,
    networkMode,
    ports,
    container,
    start,
    hostPort,
    url,
    inspect: () => container.inspect(),
    refresh,
    stop: async (timeoutSec) => {
      await ignoreStatus(container.stop(timeoutSec === undefined ? {} : { t: timeoutSec }), [304, 404]);
    },
    kill: async (signal = 'SIGKILL') => {
      await container.kill({ signal });
    },
    remove: () => removeQuietly(container),
    setHealthy: async (healthy) => {
      const result = await exec(['sh', '-c', healthy ? 'echo ok > /www/health' : 'rm -f /www/health']);
      if (result.exitCode !== 0) throw new Error(`${name}: setHealthy(${healthy}) failed: ${result.stderr}`);
    },
    healthStatus: async () => (await container.inspect()).State.Health?.Status,
    waitForHealth: async (status, timeoutMs = 15_000) => {
      await waitFor(async () => (await handle.healthStatus()) === status, {
        description: `${name} health ${status}`,
        timeoutMs,
        intervalMs: 100,
      });
    },
    exec,
    logs: async () => {
      const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      const { stdout, stderr } = demux(raw);
      return stdout + stderr;
    },
  };
  if (options.start !== false) {
    try {
      await start();
    } catch (error) {
      const logs = await handle.logs().catch(() => '');
      await removeQuietly(container);
      throw new Error(`${name}: start failed: ${error instanceof Error ? error.message : String(error)}\n${logs}`);
    }
  }
  return handle;
}

/** Runs a command in a container and collects its exit code and output. */
export async function execInContainer(container: Docker.Container, cmd: string[]): Promise<ExecResult> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  const info = await waitFor(async () => {
    const state = await exec.inspect();
    return state.Running ? undefined : state;
  }, { description: `exec ${cmd.join(' ')} to finish`, timeoutMs: 10_000, intervalMs: 20 });
  return { exitCode: info.ExitCode ?? -1, ...demux(Buffer.concat(chunks)) };
}

/** Splits Docker's multiplexed stdout/stderr stream (8-byte frame headers). */
function demux(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const kind = raw[offset];
    const size = raw.readUInt32BE(offset + 4);
    const payload = raw.subarray(offset + 8, offset + 8 + size);
    (kind === 2 ? err : out).push(payload);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

async function removeQuietly(container: Docker.Container): Promise<void> {
  // 409: removal already in progress.
  await ignoreStatus(container.remove({ force: true, v: true }), [404, 409]);
}

async function ignoreStatus(promise: Promise<unknown>, statuses: number[]): Promise<void> {
  try {
    await promise;
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === undefined || !statuses.includes(status)) throw error;
  }
}
