/**
 * Docker's two descriptions of a container, the listing's entry and an inspect, read into the
 * one snapshot the core plans with. Pure: the same container gives the same snapshot either way,
 * so a pass can take one container from its own inspect (after an event) and the rest from the
 * last listing.
 */
import type Dockerode from 'dockerode';
import { ECS_METADATA_URI_ENV, ECS_TASK_ARN_LABEL, type ContainerSnapshot, type HealthStatus, type PortBinding, type Protocol } from '../core/container.ts';

/** A snapshot before the stop marks are applied (those come from events, not from Docker's description). */
export type DockerSnapshot = Omit<ContainerSnapshot, 'stopping'>;

/**
 * What only an inspect tells (the listing omits it): the exposed ports a host-network
 * container serves, and the metadata id of an ECS task container (its task's tags are read with it).
 */
export interface InspectDetails {
  readonly exposedPorts: ContainerSnapshot['exposedPorts'];
  readonly metadataId?: string;
}

/** Reads "Up 5 minutes (healthy)" style status text. */
export function healthFromStatus(status: string | undefined): HealthStatus {
  if (!status) return 'none';
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

/** Inspect's State.Health.Status ("starting", "healthy", "unhealthy", "none"). */
function healthFromInspect(status: string | undefined): HealthStatus {
  return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : 'none';
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

/** The id in ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/<id> among `KEY=VALUE` environment entries. */
export function metadataIdOf(env: readonly string[]): string | undefined {
  const entry = env.find((e) => e.startsWith(`${ECS_METADATA_URI_ENV}=`));
  const id = entry?.slice(ECS_METADATA_URI_ENV.length + 1).replace(/\/+$/, '').split('/').pop();
  return id !== undefined && /^[A-Za-z0-9._-]{8,128}$/.test(id) ? id : undefined;
}

/** Docker's RFC 3339 time with nanoseconds ("2026-11-23T19:43:58.123456789Z") as nanoseconds since the epoch. */
export function parseDockerTime(text: string | undefined): bigint | undefined {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text ?? '');
  if (!m) return undefined;
  const ms = Date.parse(`${m[1] ?? ''}${m[3] ?? ''}`);
  if (Number.isNaN(ms) || ms <= 0) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** The details an inspect carries. */
export function inspectDetails(inspect: Dockerode.ContainerInspectInfo): InspectDetails {
  const keys = Object.keys(inspect.Config?.ExposedPorts ?? {});
  const exposedPorts = keys.map(parsePortKey).filter((p): p is NonNullable<typeof p> => p !== undefined);
  const metadataId = metadataIdOf(inspect.Config?.Env ?? []);
  return { exposedPorts, ...(metadataId !== undefined ? { metadataId } : {}) };
}

function addresses(networks: Record<string, { IPAddress?: string } | undefined> | undefined): { ipAddresses?: string[] } {
  const ipAddresses = Object.values(networks ?? {}).map((n) => n?.IPAddress).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  return ipAddresses.length > 0 ? { ipAddresses } : {};
}

/** The container's own stop signal (Config.StopSignal, e.g. SIGWINCH for httpd), when its image or run sets one. */
export function stopSignalOf(inspect: Dockerode.ContainerInspectInfo): string | undefined {
  return (inspect.Config as { StopSignal?: string } | undefined)?.StopSignal || undefined;
}

/** Whether a container's snapshot carries what an inspect tells: host network mode (its ports), an ECS task container (its metadata id). */
export function needsInspect(networkMode: string, labels: Readonly<Record<string, string>> | undefined): boolean {
  return networkMode === 'host' || labels?.[ECS_TASK_ARN_LABEL] !== undefined;
}

function build(base: Omit<DockerSnapshot, 'exposedPorts' | 'metadataId'>, details: InspectDetails | undefined): DockerSnapshot {
  const use = needsInspect(base.networkMode, base.labels) ? details : undefined;
  return { ...base, exposedPorts: base.networkMode === 'host' ? (use?.exposedPorts ?? []) : [], ...(use?.metadataId !== undefined ? { metadataId: use.metadataId } : {}) };
}

/** A listing entry as a snapshot; `details`: what an inspect of it told, if one did. */
export function snapshotFromList(info: Dockerode.ContainerInfo, details?: InspectDetails): DockerSnapshot {
  const networkMode = info.HostConfig?.NetworkMode ?? 'default';
  const ports: PortBinding[] = [];
  for (const p of info.Ports ?? []) {
    if (p.PublicPort === undefined || p.PublicPort === 0) continue;
    ports.push({ containerPort: p.PrivatePort, protocol: protocolOf(p.Type), hostIp: p.IP ?? '', hostPort: p.PublicPort });
  }
  const base = {
    id: info.Id,
    name: (info.Names?.[0] ?? info.Id).replace(/^\//, ''),
    labels: info.Labels ?? {},
    running: info.State === 'running',
    health: healthFromStatus(info.Status),
    networkMode,
    ports,
    ...addresses(info.NetworkSettings?.Networks),
  };
  return build(base, details);
}

/** An inspect as a snapshot; undefined when the container is not up (created, exited, dead: the listing leaves those out too). */
export function snapshotFromInspect(inspect: Dockerode.ContainerInspectInfo): DockerSnapshot | undefined {
  if (!inspect.State?.Running) return undefined;
  const networkMode = inspect.HostConfig?.NetworkMode ?? 'default';
  const ports: PortBinding[] = [];
  for (const [key, bindings] of Object.entries(inspect.NetworkSettings?.Ports ?? {})) {
    const parsed = parsePortKey(key);
    if (!parsed) continue;
    for (const b of bindings ?? []) {
      const hostPort = Number(b.HostPort);
      if (!Number.isInteger(hostPort) || hostPort === 0) continue;
      ports.push({ containerPort: parsed.containerPort, protocol: parsed.protocol, hostIp: b.HostIp ?? '', hostPort });
    }
  }
  const base = {
    id: inspect.Id,
    name: (inspect.Name ?? inspect.Id).replace(/^\//, ''),
    labels: inspect.Config?.Labels ?? {},
    running: inspect.State.Status === 'running',
    health: healthFromInspect(inspect.State.Health?.Status),
    networkMode,
    ports,
    ...addresses(inspect.NetworkSettings?.Networks as Record<string, { IPAddress?: string }> | undefined),
  };
  return build(base, inspectDetails(inspect));
}
