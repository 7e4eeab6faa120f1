/**
 * The container source over the Docker Engine API (dockerode). One `list` call per
 * reconcile; `inspect` once per container life, only for what the list omits: host-network
 * containers' ports, and ECS task containers' metadata id (their task's tags are read with it).
 */
import { constants } from 'node:os';
import type Dockerode from 'dockerode';
import { ECS_METADATA_URI_ENV, ECS_TASK_ARN_LABEL, type ContainerSnapshot, type ContainerSource, type HealthStatus, type PortBinding, type Protocol } from '../core/container.ts';

/** Signals after which a container is on its way out (Docker's `kill` event carries the number). */
const STOP_SIGNALS = new Set(['15', 'SIGTERM', 'TERM', '9', 'SIGKILL', 'KILL', '2', 'SIGINT', 'INT', '3', 'SIGQUIT', 'QUIT']);

/** Whether a `kill` event with this signal means the container is being stopped. */
export function isStopSignal(signal: string | undefined): boolean {
  return signal === undefined || STOP_SIGNALS.has(signal.toUpperCase());
}

/** A signal as its number, from "15", "TERM" or "SIGTERM"; undefined when unknown. */
export function signalNumber(signal: string | undefined): number | undefined {
  if (signal === undefined || signal === '') return undefined;
  if (/^[0-9]+$/.test(signal)) return Number(signal);
  const name = signal.toUpperCase();
  return (constants.signals as Record<string, number>)[name.startsWith('SIG') ? name : `SIG${name}`];
}

/** Whether two signal texts (numbers or names) are the same signal. */
export function sameSignal(a: string | undefined, b: string | undefined): boolean {
  const n = signalNumber(a);
  return n !== undefined && n === signalNumber(b);
}

/** Reads "Up 5 minutes (healthy)" style status text. */
export function healthFromStatus(status: string | undefined): HealthStatus {
  if (!status) return 'none';
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

function protocolOf(text: string | undefined): Protocol {
  return text === 'udp' || text === 'sctp' ? text : 'tcp';
}

/** Parses Docker's "8080/tcp" keys. */
export function parsePortKey(key: string): { containerPort: number; protocol: Protocol } | undefined {
  const [port, proto] = key.split('/');
  const containerPort = Number(port);
  if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) return undefined;
  return { containerPort, protocol: protocolOf(proto) };
}

interface HostModeDetails {
  readonly exposedPorts: ContainerSnapshot['exposedPorts'];
  readonly metadataId?: string;
}

/** The id in ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/<id> among `KEY=VALUE` environment entries. */
export function metadataIdOf(env: readonly string[]): string | undefined {
  const entry = env.find((e) => e.startsWith(`${ECS_METADATA_URI_ENV}=`));
  const id = entry?.slice(ECS_METADATA_URI_ENV.length + 1).replace(/\/+$/, '').split('/').pop();
  return id !== undefined && /^[A-Za-z0-9._-]{8,128}$/.test(id) ? id : undefined;
}

/** How long one Docker API call may take before the pass gives up on it (a hung engine must not block the loop). */
export const DOCKER_CALL_TIMEOUT_MS = 30_000;

/** Docker's RFC 3339 time with nanoseconds ("2026-11-23T19:43:58.123456789Z") as nanoseconds since the epoch. */
export function parseDockerTime(text: string | undefined): bigint | undefined {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text ?? '');
  if (!m) return undefined;
  const ms = Date.parse(`${m[1] ?? ''}${m[3] ?? ''}`);
  if (Number.isNaN(ms) || ms <= 0) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Lists running containers through dockerode, marking those a stop signal was sent to. */
export class DockerContainerSource implements ContainerSource {
  /** Container id -> when the stop signal was seen (ns). */
  private readonly stopping = new Map<string, bigint>();
  private readonly hostModeCache = new Map<string, HostModeDetails>();
  /** Set after the event stream reconnected: the next listing re-checks stop marks once. */
  private recheckMarks = false;

  constructor(
    private readonly docker: Dockerode,
    private readonly callTimeoutMs = DOCKER_CALL_TIMEOUT_MS,
  ) {}

  /**
   * Whether `signal` is the container's own stop signal (Config.StopSignal, e.g. SIGWINCH for
   * httpd, SIGQUIT for nginx): `docker stop` and ECS send that one instead of SIGTERM.
   */
  async isOwnStopSignal(id: string, signal: string | undefined): Promise<boolean> {
    try {
      const inspect = await this.docker.getContainer(id).inspect();
      return sameSignal((inspect.Config as { StopSignal?: string } | undefined)?.StopSignal, signal);
    } catch {
      return false;
    }
  }

  /** Records a stop signal (at `kill`, time of the event) so the container leaves the desired set at once. */
  markStopping(id: string, timeNano: bigint = BigInt(Date.now()) * 1_000_000n): void {
    this.stopping.set(id, timeNano);
  }

  /** Forgets a stop mark (a `start` means the container runs again). */
  clearStopping(id: string): void {
    this.stopping.delete(id);
  }

  /** The event stream was broken: `start` events may have been lost, so re-check stop marks on the next listing. */
  recheckStoppingMarks(): void {
    this.recheckMarks = true;
  }

  /** Drops what is cached about a removed container. */
  forget(id: string): void {
    this.stopping.delete(id);
    this.hostModeCache.delete(id);
  }

  async list(): Promise<ContainerSnapshot[]> {
    const infos = await this.docker.listContainers({ all: false, abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
    const live = new Set(infos.map((i) => i.Id));
    for (const id of this.hostModeCache.keys()) if (!live.has(id)) this.hostModeCache.delete(id);
    for (const id of this.stopping.keys()) if (!live.has(id)) this.stopping.delete(id);
    if (this.recheckMarks) {
      // Only after a reconnect: inspecting a container Docker is tearing down waits for it, which would slow every kill.
      this.recheckMarks = false;
      await this.clearRestarted();
    }
    return Promise.all(infos.map((info) => this.snapshot(info)));
  }

  /**
   * A container marked stopping that runs again (its `start` event was lost with the event
   * stream, e.g. across an engine restart) would otherwise stay deregistered for good: a
   * start after the mark clears it. Only marked containers are inspected, and they are few;
   * it runs once after each reconnect of the event stream.
   */
  private async clearRestarted(): Promise<void> {
    await Promise.all(
      [...this.stopping].map(async ([id, markedAt]) => {
        const info = await this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) }).catch(() => undefined);
        const startedAt = parseDockerTime(info?.State.StartedAt);
        if (info?.State.Running && startedAt !== undefined && startedAt > markedAt) this.stopping.delete(id);
      }),
    );
  }

  private async snapshot(info: Dockerode.ContainerInfo): Promise<ContainerSnapshot> {
    const networkMode = info.HostConfig?.NetworkMode ?? 'default';
    const ports: PortBinding[] = [];
    for (const p of info.Ports ?? []) {
      if (p.PublicPort === undefined || p.PublicPort === 0) continue;
      ports.push({ containerPort: p.PrivatePort, protocol: protocolOf(p.Type), hostIp: p.IP ?? '', hostPort: p.PublicPort });
    }
    const ecs = info.Labels?.[ECS_TASK_ARN_LABEL] !== undefined;
    // Host mode needs the ports (a failed inspect fails the listing); an ECS container's metadata id can wait for the next pass.
    const host = networkMode === 'host' ? await this.hostMode(info.Id) : ecs ? await this.hostMode(info.Id).catch(() => undefined) : undefined;
    const ipAddresses = Object.values(info.NetworkSettings?.Networks ?? {}).map((n) => n.IPAddress).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
    return {
      id: info.Id,
      name: (info.Names?.[0] ?? info.Id).replace(/^\//, ''),
      labels: info.Labels ?? {},
      running: info.State === 'running',
      stopping: this.stopping.has(info.Id),
      health: healthFromStatus(info.Status),
      networkMode,
      ports,
      exposedPorts: networkMode === 'host' ? (host?.exposedPorts ?? []) : [],
      ...(ipAddresses.length > 0 ? { ipAddresses } : {}),
      ...(host?.metadataId !== undefined ? { metadataId: host.metadataId } : {}),
    };
  }

  /** What only inspect tells (the list omits it): exposed ports (host network mode) and the metadata id; cached for the container's life. */
  private async hostMode(id: string): Promise<HostModeDetails> {
    const cached = this.hostModeCache.get(id);
    if (cached) return cached;
    const inspect = await this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
    const keys = Object.keys(inspect.Config?.ExposedPorts ?? {});
    const exposedPorts = keys.map(parsePortKey).filter((p): p is NonNullable<typeof p> => p !== undefined);
    const metadataId = metadataIdOf(inspect.Config?.Env ?? []);
    const details = { exposedPorts, ...(metadataId !== undefined ? { metadataId } : {}) };
    this.hostModeCache.set(id, details);
    return details;
  }
}
