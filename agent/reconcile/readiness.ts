/**
 * The readiness gate's decisions, pure: which container is asking (by its source address, or
 * for a host-network container by its metadata id), and whether every target of that
 * container is healthy in every one of its groups. An answer speaks only of the caller.
 */
import type { ContainerSnapshot } from '../core/container.ts';
import type { GateAnswer, GateQuery } from '../core/gate.ts';
import { shortTargetGroup } from '../core/arn.ts';
import type { ActualTarget } from '../core/target-registry.ts';
import type { DesiredEndpoint } from '../mapping/desired.ts';

/** An IPv4-mapped IPv6 source ("::ffff:172.17.0.2") as plain IPv4. */
const plain = (address: string) => address.replace(/^::ffff:/, '');

/** The container a request comes from: by its address on a Docker network, else by the metadata id a host-network container gives. */
export function identifyCaller(containers: readonly ContainerSnapshot[], q: GateQuery): ContainerSnapshot | undefined {
  const source = plain(q.sourceAddress);
  const byAddress = containers.find((c) => c.running && c.ipAddresses?.includes(source));
  if (byAddress) return byAddress;
  if (q.id === undefined || q.id === '') return undefined;
  return containers.find((c) => c.running && c.networkMode === 'host' && c.metadataId === q.id);
}

export interface VerdictInput {
  readonly container: ContainerSnapshot | undefined;
  /** The endpoints this container asks for (from the last pass). */
  readonly endpoints: readonly DesiredEndpoint[];
  /** What each group holds, as this host knows it (the views). */
  readonly view: (targetGroupArn: string) => readonly ActualTarget[];
  readonly address: string | undefined;
  /** Once ready, a container stays ready until it is stopping. */
  readonly latched: boolean;
}

/** Whether the caller is ready, and why not. */
export function gateVerdict(input: VerdictInput): GateAnswer {
  const c = input.container;
  if (!c) return { ready: false, reason: 'unknown caller: not a running container of this host (host network mode: add ?id=<last part of ECS_CONTAINER_METADATA_URI_V4>)' };
  const who = { containerId: c.id };
  if (c.stopping) return { ready: false, reason: 'stopping', ...who };
  if (input.latched) return { ready: true, reason: 'ready', ...who };
  if (input.endpoints.length === 0) return { ready: false, reason: 'no target: this container is not mapped to a target group, or its labels are wrong (see the agent log)', ...who };
  if (input.address === undefined) return { ready: false, reason: 'this host has no usable address yet', ...who };
  for (const e of input.endpoints) {
    const t = input.view(e.targetGroupArn).find((x) => x.id === input.address && x.port === e.port);
    const where = `${shortTargetGroup(e.targetGroupArn)} ${input.address}:${e.port}`;
    if (!t) return { ready: false, reason: `${where} is not registered yet`, ...who };
    if (t.state !== 'healthy') return { ready: false, reason: `${where} is ${t.state}${t.reason ? ` (${t.reason})` : ''}`, ...who };
  }
  return { ready: true, reason: 'ready', ...who };
}
