/**
 * The fleet view's decisions, pure: facts in (container instances with their address attribute,
 * running tasks with their bindings and labels, what each group holds), report out. Whose a
 * target is comes from the address attribute alone; a connected instance's address is never
 * stale; a disconnected instance's targets wait out the grace; an address nobody holds is stale
 * at once, unless a connected instance lacks the attribute (it might be that host's).
 */
import { parseTargetLabels } from '../mapping/labels.ts';
import { ADDRESS_ATTRIBUTE, type ContainerInstanceView, type FleetFacts, type FleetReport, type FleetTarget, type InstanceLine, type MissingTarget, type TaskView } from './fleet-facts.ts';

export interface DiffOptions {
  readonly now: number;
  readonly graceMs: number;
}

/** Human duration for reasons: 42s, 16m, 3h5m. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  return `${Math.floor(m / 60)}h${m % 60 > 0 ? `${m % 60}m` : ''}`;
}

const label = (i: ContainerInstanceView) => `${i.id}${i.name ? ` (${i.name})` : ''}`;
/** An instance whose ECS agent talks to ECS: its address is in use, whatever else is true. */
const isConnected = (i: ContainerInstanceView) => i.agentConnected && i.status !== 'INACTIVE';
/** An instance that still counts as a host of the cluster while its agent is away. */
const isMember = (i: ContainerInstanceView) => i.status === 'ACTIVE' || i.status === 'DRAINING';

/** The container and task that publish `port` on an instance, if any. */
function taskAt(tasks: readonly TaskView[], instanceArn: string, port: number): { taskArn: string; container: string } | undefined {
  for (const t of tasks) {
    if (t.containerInstanceArn !== instanceArn) continue;
    for (const c of t.containers) if (c.bindings.some((b) => b.hostPort === port && b.protocol === 'tcp')) return { taskArn: t.arn, container: c.name };
  }
  return undefined;
}

/** Builds the report from one look at the fleet. */
export function fleetReport(facts: FleetFacts, o: DiffOptions): FleetReport {
  const addressOf = (i: ContainerInstanceView) => i.attributes[ADDRESS_ATTRIBUTE];
  const holders = new Map<string, ContainerInstanceView[]>();
  for (const i of facts.instances) {
    const a = addressOf(i);
    if (a !== undefined && a !== '') holders.set(a, [...(holders.get(a) ?? []), i]);
  }
  const unattributed = facts.instances.filter((i) => isConnected(i) && !addressOf(i)).map(label);

  const judge = (id: string, port: number, state: string): Omit<FleetTarget, 'id' | 'port' | 'state' | 'availabilityZone'> => {
    const on = holders.get(id) ?? [];
    const connected = on.find(isConnected);
    if (connected) {
      const task = taskAt(facts.tasks, connected.arn, port);
      const host = { instanceId: connected.id, ...(connected.name ? { instanceName: connected.name } : {}) };
      if (state === 'draining') return { ...host, ...(task ?? {}), verdict: 'draining' };
      return task ? { ...host, ...task, verdict: 'serving' } : { ...host, verdict: 'no-task', why: `no running task of ${facts.cluster} publishes port ${port} on ${label(connected)}` };
    }
    const away = on.find(isMember);
    // ECS keeps a disconnected instance's tasks RUNNING: they still say which task a target was for.
    const host = away ? { instanceId: away.id, ...(away.name ? { instanceName: away.name } : {}), ...(taskAt(facts.tasks, away.arn, port) ?? {}) } : {};
    if (state === 'draining') return { ...host, verdict: 'draining' };
    if (away) {
      const since = facts.disconnectedSince[away.arn] ?? o.now;
      const gone = o.now - since;
      const words = `ECS agent of ${label(away)} disconnected for ${formatDuration(gone)} (grace ${formatDuration(o.graceMs)})`;
      return gone >= o.graceMs ? { ...host, verdict: 'stale', why: words } : { ...host, verdict: 'within-grace', why: words };
    }
    if (unattributed.length > 0) return { verdict: 'unknown', why: `no instance has ${ADDRESS_ATTRIBUTE}=${id}, but ${unattributed.join(', ')} ${unattributed.length === 1 ? 'has' : 'have'} no address attribute` };
    const gone = on.length > 0 ? ` (only ${on.map((i) => `${label(i)} ${i.status}`).join(', ')})` : '';
    return { ...host, verdict: 'stale', why: `no ACTIVE container instance of ${facts.cluster} holds ${id}${gone}` };
  };

  const groups = facts.groups.map((g) => ({
    targetGroupArn: g.targetGroupArn,
    ...(g.error !== undefined ? { error: g.error } : {}),
    targets: (g.targets ?? [])
      .map((t): FleetTarget => ({ id: t.id, port: t.port, ...(t.availabilityZone ? { availabilityZone: t.availabilityZone } : {}), state: t.state, ...(t.reason ? { reason: t.reason } : {}), ...judge(t.id, t.port, t.state) }))
      .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }) || a.port - b.port),
  }));

  return {
    cluster: facts.cluster,
    graceSeconds: Math.round(o.graceMs / 1000),
    instances: facts.instances.map((i): InstanceLine => {
      const since = facts.disconnectedSince[i.arn];
      return {
        arn: i.arn, id: i.id, ...(i.name ? { name: i.name } : {}), status: i.status, agentConnected: i.agentConnected,
        ...(addressOf(i) ? { address: addressOf(i) as string } : {}),
        ...(since !== undefined && !i.agentConnected ? { disconnectedSince: new Date(since).toISOString() } : {}),
      };
    }),
    groups,
    missing: missingTargets(facts, holdersByArn(facts.instances, addressOf)),
    stale: groups.flatMap((g) => g.targets.filter((t) => t.verdict === 'stale').map((t) => ({ targetGroupArn: g.targetGroupArn, ...t }))),
    unattributed,
  };
}

/** The address of each connected instance, by ARN. */
function holdersByArn(instances: readonly ContainerInstanceView[], addressOf: (i: ContainerInstanceView) => string | undefined): Map<string, { address: string; id: string }> {
  const out = new Map<string, { address: string; id: string }>();
  for (const i of instances) {
    const a = addressOf(i);
    if (isConnected(i) && a) out.set(i.arn, { address: a, id: i.id });
  }
  return out;
}

/**
 * Targets that running tasks on connected instances ask for by their labels (the task
 * definition's dockerLabels, read as the agent reads them) and that their read group lacks
 * (or holds only as draining). A request without a port takes the container's one TCP binding.
 */
function missingTargets(facts: FleetFacts, connected: Map<string, { address: string; id: string }>): MissingTarget[] {
  const out: MissingTarget[] = [];
  const live = new Map(facts.groups.filter((g) => g.targets).map((g) => [g.targetGroupArn, new Set((g.targets ?? []).filter((t) => t.state !== 'draining').map((t) => `${t.id}:${t.port}`))]));
  for (const task of facts.tasks) {
    const host = task.containerInstanceArn !== undefined ? connected.get(task.containerInstanceArn) : undefined;
    if (!host || task.lastStatus !== 'RUNNING') continue;
    for (const c of task.containers) {
      const { requests } = parseTargetLabels(facts.labels[task.taskDefinitionArn]?.[c.name] ?? {});
      const tcp = c.bindings.filter((b) => b.protocol === 'tcp');
      for (const r of requests) {
        const held = live.get(r.targetGroupArn);
        if (!held) continue;
        const binding = r.containerPort !== undefined ? tcp.find((b) => b.containerPort === r.containerPort) : tcp.length === 1 ? tcp[0] : undefined;
        if (!binding || held.has(`${host.address}:${binding.hostPort}`)) continue;
        out.push({ targetGroupArn: r.targetGroupArn, id: host.address, port: binding.hostPort, taskArn: task.arn, container: c.name, instanceId: host.id });
      }
    }
  }
  return out;
}
