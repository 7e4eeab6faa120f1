// The fleet view end to end: three real agent processes as three hosts of the ECS cluster
// `edge` (addresses 10.8.0.31-33, their own state dirs and access keys, each with its own
// container instance behind its own ECS-agent introspection stand-in), one task container
// each on the shared engine (host 3 two), and the local endpoint serving ELBv2 and ECS. Each
// host may join only its own group, so the agents, which all see every container of the
// engine, each register only their host's. Host 3's agent is SIGKILLed and its instance
// marked disconnected (the control call a dead host's silence amounts to): within a 15-minute
// grace `fleet status` exits 0 and `fleet clean --apply` leaves it alone; past a 3-second grace
// (counted from the first sighting, which the operator's state dir keeps), `fleet status`
// reports exactly its targets as stale and exits 1; `fleet clean` without --apply changes
// nothing; with --apply it deregisters exactly those (the connected hosts keep theirs); a last
// `fleet status` exits 0. Then host 2's ECS agent goes away while its load balancer agent runs
// on: within a 15-minute grace, status and clean leave it alone. Last, a labelled task whose
// target nobody registered is reported missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDRESS_ATTRIBUTE, type FleetReport } from '../../agent/fleet-view/fleet-facts.ts';
import { createWorld, targetLabels, type World } from '../support/agent-world.ts';
import { runAgentCommand, tempDir, type AgentProcess } from '../support/agent-process.ts';
import type { EcsContainer } from '../support/ecs-container.ts';
import { startIntrospectionStandIn, type IntrospectionStandIn } from '../support/ecs-introspection-stand-in.ts';
import { waitFor } from '../support/wait.ts';

const CLUSTER = 'edge';
const HOSTS = [1, 2, 3].map((n) => ({ n, ip: `10.8.0.3${n}`, group: `fleetview-h${n}`, family: `fleetview-h${n}`, containers: n === 3 ? 2 : 1 }));
const GRACE = '3s';

let world: World;
const agents: AgentProcess[] = [];
const stands: IntrospectionStandIn[] = [];
const dirs: { remove(): void }[] = [];
const instances: string[] = [];
const containers: EcsContainer[][] = [];
let operatorState: string;

/** Runs `fleet ...` as an operator would, from outside the hosts, with its own access key and state dir (--grace GRACE unless given). */
function fleet(...args: string[]) {
  return runAgentCommand({
    args: ['fleet', ...args, '--cluster', CLUSTER, ...(args.includes('--grace') ? [] : ['--grace', GRACE]), '--target-groups', HOSTS.map((h) => world.groups[h.group]).join(',')],
    env: {
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: world.elb.url,
      AWS_ENDPOINT_URL_ECS: world.elb.url,
      AWS_REGION: world.elb.region,
      AWS_ACCESS_KEY_ID: 'AKIDFLEETOPERATOR',
      AWS_SECRET_ACCESS_KEY: 'test-secret',
      ECS_ANYWHERE_LB_STATE_DIR: operatorState,
    },
  });
}

async function status(...args: string[]): Promise<{ code: number | null; report: FleetReport; stderr: string }> {
  const r = await fleet('status', '--json', ...args);
  return { code: r.code, report: JSON.parse(r.stdout) as FleetReport, stderr: r.stderr };
}

async function setAgentConnected(instance: string, agentConnected: boolean): Promise<void> {
  const res = await fetch(`${world.elb.url}/_local/ecs/agent-connected`, { method: 'PUT', body: JSON.stringify({ cluster: CLUSTER, containerInstance: instance, agentConnected }) });
  expect(res.status, await res.text()).toBe(200);
}

const targetsOf = (h: (typeof HOSTS)[number]) => containers[h.n - 1]?.map((c) => `${h.ip}:${c.hostPort()}`).sort() ?? [];
const staleOf = (report: FleetReport) => report.stale.map((t) => `${t.id}:${t.port}`).sort();

beforeAll(async () => {
  world = await createWorld({ groups: HOSTS.map((h) => h.group) });
  const state = tempDir('ecslb-fleet-operator-');
  dirs.push(state);
  operatorState = state.path;
  for (const h of HOSTS) {
    const instance = world.elb.ecs.registerContainerInstance(CLUSTER, `mi-0fleetview0000${h.n}`);
    instances.push(instance);
    const arn = world.groups[h.group] as string;
    const definition = world.elb.ecs.registerTaskDefinition(h.family, [{ name: 'web', dockerLabels: targetLabels(arn) }]);
    const started: EcsContainer[] = [];
    for (let i = 0; i < h.containers; i++) {
      const c = await world.startContainer({ family: h.family, containerName: 'web', cluster: CLUSTER, dockerLabels: targetLabels(arn) });
      world.elb.ecs.runTask(CLUSTER, instance, definition, [{ name: 'web', runtimeId: c.id, networkBindings: [{ containerPort: 8080, hostPort: c.hostPort() }] }], c.taskArn);
      started.push(c);
    }
    containers.push(started);
    const stand = await startIntrospectionStandIn(CLUSTER, instance);
    stands.push(stand);
    const dir = tempDir('ecslb-fleet-host-');
    dirs.push(dir);
    agents.push(
      world.startAgent({
        ECS_ANYWHERE_LB_HOST_IP: h.ip,
        ECS_ANYWHERE_LB_STATE_DIR: dir.path,
        ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: arn,
        ECS_ANYWHERE_LB_ECS_INTROSPECTION_ENDPOINT: stand.url,
        AWS_ENDPOINT_URL_ECS: world.elb.url,
        AWS_ACCESS_KEY_ID: `AKIDFLEETVIEWHOST${h.n}`,
        ECS_ANYWHERE_LB_FLEET_SIZE: '3',
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await world?.close();
  await Promise.all(stands.map((s) => s.close()));
  for (const d of dirs) d.remove();
});

describe('fleet status and fleet clean on three hosts, one of them dead', () => {
  it('report every target with its host and task, and clean exactly the dead host\'s targets after the grace', async () => {
    // Each agent registers its host's containers and puts its address on its container instance.
    for (const h of HOSTS) await world.waitForTargets(h.group, targetsOf(h), `host ${h.n} registered`, 30_000, ['initial', 'healthy', 'unhealthy']);
    for (const [i, h] of HOSTS.entries()) {
      await waitFor(() => world.elb.ecs.instance(CLUSTER, instances[i] as string).attributes.get(ADDRESS_ATTRIBUTE) === h.ip, { description: `host ${h.n}'s ${ADDRESS_ATTRIBUTE}`, timeoutMs: 20_000 });
    }
    const before = await status();
    expect(before.code, before.stderr).toBe(0);
    expect(before.report.stale).toEqual([]);
    expect(before.report.missing).toEqual([]);
    for (const [i, h] of HOSTS.entries()) {
      const group = before.report.groups.find((g) => g.targetGroupArn === world.groups[h.group]);
      expect(group?.targets.map((t) => `${t.id}:${t.port}`).sort()).toEqual(targetsOf(h));
      const taskArns = containers[i]?.map((c) => c.taskArn).sort();
      expect(group?.targets.map((t) => [t.verdict, t.instanceId, t.instanceName, t.container])).toEqual(targetsOf(h).map(() => ['serving', instances[i]?.split('/').pop(), `mi-0fleetview0000${h.n}`, 'web']));
      expect(group?.targets.map((t) => t.taskArn).sort()).toEqual(taskArns);
    }
    const table = await fleet('status');
    expect(table.code).toBe(0);
    console.log(`[fleet-view] fleet status, every host up:\n${table.stdout}`);

    // Host 3 dies: its agent is killed, ECS sees its agent disconnected and keeps its tasks RUNNING.
    const dead = HOSTS[2] as (typeof HOSTS)[number];
    await agents[2]?.stop('SIGKILL');
    await setAgentConnected(instances[2] as string, false);
    const deadTargets = targetsOf(dead);

    // Within the grace (15 minutes): left alone by status and by clean --apply.
    const sightedAt = Date.now();
    const early = await status('--grace', '15m');
    expect(early.code, early.stderr).toBe(0);
    expect(early.report.stale).toEqual([]);
    const deadGroup = (r: FleetReport) => r.groups.find((g) => g.targetGroupArn === world.groups[dead.group]);
    expect(deadGroup(early.report)?.targets.map((t) => t.verdict)).toEqual(deadTargets.map(() => 'within-grace'));
    const earlyTable = await fleet('status', '--grace', '15m');
    expect(earlyTable.code).toBe(0);
    console.log(`[fleet-view] fleet status, host 3 disconnected within the grace:\n${earlyTable.stdout}`);
    const earlyClean = await fleet('clean', '--apply', '--grace', '15m');
    expect(earlyClean.code, earlyClean.stderr).toBe(0);
    expect(earlyClean.stdout).toBe('nothing to deregister\n');
    expect(world.targets(dead.group)).toEqual(deadTargets);

    // Past a grace of 3 s since the first sighting: exactly the dead host's targets are stale, and status exits 1.
    await new Promise((r) => setTimeout(r, Math.max(0, sightedAt + 3_500 - Date.now())));
    const late = await status();
    expect(late.code).toBe(1);
    expect(staleOf(late.report)).toEqual(deadTargets);
    expect(late.report.stale.every((t) => t.targetGroupArn === world.groups[dead.group] && t.why?.includes('disconnected for'))).toBe(true);
    const lateTable = await fleet('status');
    expect(lateTable.code).toBe(1);
    console.log(`[fleet-view] fleet status, host 3 dead past the grace:\n${lateTable.stdout}\n[fleet-view] as JSON:\n${JSON.stringify(late.report, null, 2)}`);

    // A dry run lists them and changes nothing.
    const snapshot = HOSTS.map((h) => world.targets(h.group));
    const calls = () => world.elb.requestLog.filter((e) => e.caller === 'AKIDFLEETOPERATOR' && e.action === 'DeregisterTargets').length;
    const dry = await fleet('clean');
    expect(dry.code, dry.stderr).toBe(0);
    console.log(`[fleet-view] fleet clean (dry run):\n${dry.stdout}`);
    for (const t of deadTargets) expect(dry.stdout).toContain(`would deregister tg/${dead.group} ${t} (`);
    expect(dry.stdout.split('\n').filter((l) => l.startsWith('would deregister'))).toHaveLength(deadTargets.length);
    expect(HOSTS.map((h) => world.targets(h.group))).toEqual(snapshot);
    expect(calls()).toBe(0);

    // --apply deregisters exactly those; hosts 1 and 2 keep theirs.
    const applied = await fleet('clean', '--apply');
    expect(applied.code, applied.stderr).toBe(0);
    console.log(`[fleet-view] fleet clean --apply:\n${applied.stdout}`);
    expect(calls()).toBe(1);
    await world.waitForTargets(dead.group, [], 'the dead host\'s targets deregistered', 10_000);
    for (const h of HOSTS.slice(0, 2)) expect(world.targets(h.group)).toEqual(targetsOf(h));

    const after = await status();
    expect(after.code, JSON.stringify(after.report, null, 2)).toBe(0);
    expect(after.report.stale).toEqual([]);
    expect(after.report.groups.flatMap((g) => g.targets.map((t) => t.verdict))).toEqual(['serving', 'serving']);

    // Host 2's ECS agent goes away (its load balancer agent still runs): within a 15-minute grace it is left alone.
    await setAgentConnected(instances[1] as string, false);
    const away = await status('--grace', '15m');
    expect(away.code, away.stderr).toBe(0);
    expect(away.report.groups.flatMap((g) => g.targets.map((t) => t.verdict))).toEqual(['serving', 'within-grace']);
    const awayClean = await fleet('clean', '--apply', '--grace', '15m');
    expect([awayClean.code, awayClean.stdout]).toEqual([0, 'nothing to deregister\n']);
    expect(world.targets(HOSTS[1]?.group ?? '')).toEqual(targetsOf(HOSTS[1] as (typeof HOSTS)[number]));

    // A labelled task running on host 1 whose target its group lacks (ECS says it publishes 8080 on 40001; nobody registered it): missing, exit 1.
    const h1 = HOSTS[0] as (typeof HOSTS)[number];
    const definition = world.elb.ecs.registerTaskDefinition(`${h1.family}-extra`, [{ name: 'web', dockerLabels: targetLabels(world.groups[h1.group] as string) }]);
    const extra = world.elb.ecs.runTask(CLUSTER, instances[0] as string, definition, [{ name: 'web', networkBindings: [{ containerPort: 8080, hostPort: 40001 }] }]);
    const missing = await status('--grace', '15m');
    expect(missing.code).toBe(1);
    expect(missing.report.missing).toEqual([{ targetGroupArn: world.groups[h1.group], id: h1.ip, port: 40001, taskArn: extra, container: 'web', instanceId: instances[0]?.split('/').pop() }]);
    expect(missing.report.stale).toEqual([]);
  }, 120_000);
});
