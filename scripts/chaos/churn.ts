/**
 * Container churn and the second host's moves, done for real: containers started the way
 * the ECS agent starts them (test/support/ecs-container.ts), stopped, killed, crashed from
 * inside, restarted, their HEALTHCHECK flipped; the second host registers and deregisters
 * its own targets with the SDK. Keeps the roster (what the judge expects of each container).
 */
import { DeregisterTargetsCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { startEcsContainer, type EcsContainer } from '../../test/support/ecs-container.ts';
import type { ContainerIntent } from './oracle.ts';
import { targetKey } from './oracle.ts';
import { MAPPED_FAMILY, OTHER_HOST, type ChaosWorld } from './world.ts';
import type { ChurnAction, NewContainer, RosterEntry } from './scenario.ts';

/** The container port every soak container serves on. */
export const CONTAINER_PORT = 8080;
const TARGET_GROUP_ARN_LABEL = 'ecs-anywhere-lb.target-group-arn';

/** Labels that are wrong in ways a user gets wrong (each must register nothing and crash nothing). */
const MALFORMED: ReadonlyArray<(arn: string) => Record<string, string>> = [
  () => ({ [TARGET_GROUP_ARN_LABEL]: 'not-an-arn' }),
  (arn) => ({ [TARGET_GROUP_ARN_LABEL]: arn, 'ecs-anywhere-lb.container-port': 'eighty' }),
  (arn) => ({ [TARGET_GROUP_ARN_LABEL]: arn, 'ecs-anywhere-lb.readiness-gate': 'maybe' }),
  () => ({ 'ecs-anywhere-lb.targets': ' , ' }),
  (arn) => ({ 'ecs-anywhere-lb.targets': `${arn}@99999` }),
];

/** The soak's containers and the second host's targets. */
export class Churn {
  readonly roster = new Map<string, { entry: RosterEntry; container: EcsContainer; intent: ContainerIntent }>();
  /** Group name -> ports the second host holds. */
  readonly foreign = new Map<string, number[]>();

  constructor(private readonly world: ChaosWorld) {}

  entries(): RosterEntry[] {
    return [...this.roster.values()].map((r) => r.entry);
  }

  intents(): Map<string, ContainerIntent> {
    return new Map([...this.roster.entries()].map(([name, r]) => [name, r.intent]));
  }

  /** The second host's targets as the judge keys them. */
  foreignKeys(): Set<string> {
    return new Set([...this.foreign.entries()].flatMap(([group, ports]) => ports.map((p) => targetKey(this.world.groups[group] ?? group, OTHER_HOST.address, p))));
  }

  /** Does the action; returns a description for the history (failures included: Docker may refuse an act on a container that just died). */
  async run(action: ChurnAction, random: () => number): Promise<string> {
    try {
      return await this.act(action, random);
    } catch (error) {
      return `${describeAction(action)}: failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    } finally {
      await this.refresh();
    }
  }

  /** Re-reads which containers run. */
  async refresh(): Promise<void> {
    for (const [name, r] of this.roster) {
      const info = await r.container.inspect().catch(() => undefined);
      if (!info) {
        this.roster.delete(name);
        continue;
      }
      r.entry = { ...r.entry, up: info.State.Running };
    }
  }

  /** Removes every container (end of the run). */
  async removeAll(): Promise<void> {
    await Promise.all([...this.roster.values()].map((r) => r.container.remove()));
    this.roster.clear();
  }

  private async act(action: ChurnAction, random: () => number): Promise<string> {
    switch (action.kind) {
      case 'start':
        return this.start(action.container, random);
      case 'foreign-register':
      case 'foreign-deregister':
        return this.foreignMove(action.kind, action.group, action.port);
    }
    const r = this.roster.get(action.name);
    if (!r) return `${describeAction(action)}: no such container`;
    const c = r.container;
    switch (action.kind) {
      case 'stop':
        await c.stop(3);
        break;
      case 'kill':
        await c.kill('SIGKILL');
        break;
      case 'crash':
        // Every process but PID 1 dies; the serving script then exits 1, as a crashing app would.
        await c.exec(['sh', '-c', 'kill -9 -1']);
        break;
      case 'restart':
        await c.container.restart({ t: 2 });
        break;
      case 'remove':
        await c.remove();
        break;
      case 'health-flap':
        await c.setHealthy(action.healthy);
        break;
    }
    return describeAction(action);
  }

  private async start(spec: NewContainer, random: () => number): Promise<string> {
    const arns = spec.groups.map((g) => this.world.groups[g] as string);
    const labels = this.labelsFor(spec, arns, random);
    const gated = spec.kind === 'gated';
    const container = await startEcsContainer(this.world.docker, {
      runId: this.world.runId,
      family: spec.kind === 'mapped' ? MAPPED_FAMILY : `chaos-${spec.kind}`,
      containerName: 'app',
      ports: [CONTAINER_PORT],
      dockerLabels: gated ? { ...labels, 'ecs-anywhere-lb.readiness-gate': 'true' } : labels,
      ...(spec.healthcheck ? { healthcheck: { intervalMs: 1_000, retries: 1 }, healthy: random() < 0.7 } : {}),
      stopGraceSec: spec.stopGraceSec,
      stopTimeoutSec: 3,
    });
    if (spec.restartPolicy !== 'no') await container.container.update({ RestartPolicy: { Name: spec.restartPolicy, MaximumRetryCount: 0 } });
    const entry: RosterEntry = { name: container.name, kind: spec.kind, groups: spec.groups, healthcheck: spec.healthcheck, restartPolicy: spec.restartPolicy, up: true };
    this.roster.set(container.name, { entry, container, intent: { targetGroupArns: arns, containerPort: CONTAINER_PORT, gated } });
    return `start ${spec.kind} ${container.name} port ${container.hostPort()} groups [${spec.groups.join(',')}] restart=${spec.restartPolicy}${spec.healthcheck ? ' healthcheck' : ''}${spec.stopGraceSec ? ` grace=${spec.stopGraceSec}s` : ''} labels ${JSON.stringify(labels)}`;
  }

  private labelsFor(spec: NewContainer, arns: readonly string[], random: () => number): Record<string, string> {
    const some = this.world.groups['chaos-a'] as string;
    switch (spec.kind) {
      case 'multi':
        return { 'ecs-anywhere-lb.targets': arns.join(',') };
      case 'mapped':
        return {};
      case 'malformed':
        return (MALFORMED[Math.floor(random() * MALFORMED.length)] as (typeof MALFORMED)[number])(some);
      case 'unknown-group':
        return { [TARGET_GROUP_ARN_LABEL]: this.world.unknownGroupArn };
      case 'disallowed':
        return { [TARGET_GROUP_ARN_LABEL]: this.world.groups['chaos-x'] as string };
      default:
        return { [TARGET_GROUP_ARN_LABEL]: arns[0] as string };
    }
  }

  /** The second host calls the API like any host (faults hit it too); what the group holds afterwards is the truth. */
  private async foreignMove(kind: 'foreign-register' | 'foreign-deregister', group: string, port: number): Promise<string> {
    const arn = this.world.groups[group] as string;
    const Targets = [{ Id: OTHER_HOST.address, Port: port, AvailabilityZone: 'all' }];
    let outcome = 'ok';
    for (let attempt = 1; ; attempt++) {
      try {
        await this.world.otherHost.send(kind === 'foreign-register' ? new RegisterTargetsCommand({ TargetGroupArn: arn, Targets }) : new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets }));
        break;
      } catch (error) {
        if (attempt >= 4) {
          outcome = `gave up after ${attempt} attempts (${error instanceof Error ? error.name : String(error)})`;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
    // Only this port's fate is read back: the rest of the expectation stays as it was, so a loss elsewhere still shows.
    const live = this.world.elb.targets(arn).some((t) => t.id === OTHER_HOST.address && t.port === port && t.state !== 'draining');
    const others = (this.foreign.get(group) ?? []).filter((p) => p !== port);
    this.foreign.set(group, (live ? [...others, port] : others).sort((a, b) => a - b));
    return `${kind} ${group} ${OTHER_HOST.address}:${port}: ${outcome}`;
  }
}

function describeAction(action: ChurnAction): string {
  switch (action.kind) {
    case 'start':
      return `start ${action.container.kind}`;
    case 'foreign-register':
    case 'foreign-deregister':
      return `${action.kind} ${action.group}:${action.port}`;
    case 'health-flap':
      return `health-flap ${action.name} -> ${action.healthy ? 'healthy' : 'unhealthy'}`;
    default:
      return `${action.kind} ${action.name}`;
  }
}
