// The one-shot commands against the real Docker engine and the local endpoint:
// `status` (text and JSON), `check` (passing and failing, with reasons), `deregister --all`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_IP, HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import { startIntrospectionStandIn } from '../support/ecs-introspection-stand-in.ts';
import { runAgentCommand, type AgentProcess } from '../support/agent-process.ts';

let world: World;
let agent: AgentProcess | undefined;
const foreign = `${FOREIGN_IP}:31000`;

beforeAll(async () => {
  world = await createWorld({ groups: ['cmd', 'cmd2'] });
  world.elb.registerForeign(world.groups.cmd!, [{ id: FOREIGN_IP, port: 31000, availabilityZone: 'all' }]);
});

afterAll(async () => {
  await agent?.stop('SIGKILL');
  await world?.close();
});

const command = (args: string[], env: Record<string, string | undefined> = {}) => runAgentCommand({ args, env: world.env(env) });

describe('commands', () => {
  it('status lists this host\'s targets per group with health, in text and JSON', async () => {
    const c = await world.startContainer({ family: 'status', dockerLabels: targetLabels(world.groups.cmd!) });
    agent = world.startAgent();
    await agent.ready();
    const target = `${HOST_IP}:${c.hostPort()}`;
    await world.waitForTargets('cmd', [target], 'registered and healthy', 20_000, ['healthy']);
    await agent.stop('SIGTERM');

    const json = await command(['status', '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { address: string; groups: { targetGroupArn: string; targets: { id: string; port: number; state: string; container?: string; taskArn?: string }[] }[] };
    expect(report.address).toBe(HOST_IP);
    const group = report.groups.find((g) => g.targetGroupArn === world.groups.cmd);
    expect(group?.targets).toEqual([{ id: HOST_IP, port: c.hostPort(), state: 'healthy', container: c.name, taskArn: c.taskArn }]);
    expect(report.groups.find((g) => g.targetGroupArn === world.groups.cmd2)?.targets).toEqual([]);

    const text = await command(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`tg/cmd ${world.groups.cmd}`);
    expect(text.stdout).toMatch(new RegExp(`${target.replace(/\./g, '\\.')}\\s+healthy\\s+container=${c.name}`));
    expect(text.stdout).not.toContain(FOREIGN_IP);
    await c.remove();
  });

  it('deregister --all removes every target of this host and nothing else', async () => {
    const c = await world.startContainer({ family: 'manual', dockerLabels: targetLabels(world.groups.cmd2!) });
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('cmd2', [`${HOST_IP}:${c.hostPort()}`], 'registered');
    await agent.stop('SIGKILL');
    const out = await command(['deregister', '--all']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`deregistered ${world.groups.cmd2} ${HOST_IP}:${c.hostPort()}`);
    expect(world.targets('cmd2', ['initial', 'healthy', 'unhealthy'])).toEqual([]);
    expect(world.targets('cmd')).toContain(foreign);
    const refused = await command(['deregister']);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain('pass --all');
    await c.remove();
  });

  it('check passes on a good setup and names each problem otherwise', async () => {
    const ok = await command(['check']);
    expect(ok.stdout).toContain('all checks passed');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok {3}docker: Docker .* reachable$/m);
    expect(ok.stdout).toMatch(/^ok {3}target group tg\/cmd: exists, target type ip/m);
    expect(ok.stdout).toMatch(new RegExp(`^ok {3}address: ${HOST_IP.replace(/\./g, '\\.')}$`, 'm'));
    expect(ok.stdout).toMatch(/^ok {3}ecs container instance: not looked up \(--ecs-introspection-endpoint off\)/m);
    const instance = world.elb.ecs.registerContainerInstance('cmd');
    const stand = await startIntrospectionStandIn('cmd', instance);
    try {
      const found = await command(['check'], { ECS_ANYWHERE_LB_ECS_INTROSPECTION_ENDPOINT: stand.url });
      expect(found.stdout).toContain(`ok   ecs container instance: ${instance} of cluster cmd (the address attribute goes there)\n`);
    } finally {
      await stand.close();
    }

    const instanceGroup = await world.elb.createTargetGroup({ name: 'instances', targetType: 'instance' });
    const missing = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone/00000000deadbeef';
    const bad = await command(['check', '--json'], {
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      ECS_ANYWHERE_LB_HOST_IP: undefined,
      ECS_ANYWHERE_LB_INTERFACE: 'nosuch0',
      ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: [world.groups.cmd, instanceGroup, missing].join(','),
      ECS_ANYWHERE_LB_ECS_INTROSPECTION_ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(bad.code).toBe(1);
    const result = JSON.parse(bad.stdout) as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    const byName = Object.fromEntries(result.checks.map((c) => [c.name, c]));
    expect(result.ok).toBe(false);
    expect(byName.docker?.ok).toBe(false);
    expect(byName.address).toMatchObject({ ok: false });
    expect(byName.address?.detail).toBe('interface nosuch0 is down or has no IPv4 address');
    expect(byName.host?.ok).toBe(true);
    expect(byName['target group tg/cmd']?.ok).toBe(true);
    expect(byName['target group tg/instances']).toMatchObject({ ok: false, detail: 'target type is instance; the agent needs target type ip' });
    expect(byName['target group tg/gone']?.ok).toBe(false);
    expect(byName['target group tg/gone']?.detail).toMatch(/TargetGroupNotFound/);
    expect(byName['ecs container instance']?.ok).toBe(false);
    expect(byName['ecs container instance']?.detail).toMatch(/^GET \/v1\/metadata http:\/\/127\.0\.0\.1:9\/v1\/metadata: IntrospectionUnavailable: .*; fleet status\/clean cannot tell this host's targets without it/);
  });

  it('run --dry-run logs what it would register and changes nothing', async () => {
    // The group starts empty (what an earlier test deregistered has finished draining).
    await world.waitForTargets('cmd2', [], 'cmd2 empty');
    const c = await world.startContainer({ family: 'dry', dockerLabels: targetLabels(world.groups.cmd2!) });
    const since = Date.now();
    const dry = world.startAgent({ ECS_ANYWHERE_LB_DRY_RUN: 'true', ECS_ANYWHERE_LB_DRYRUN: 'true' });
    try {
      await dry.ready();
      // A typo is named at start, with the option it most likely meant.
      const warning = await dry.waitForLog((l) => l.event === 'config-warning', 'config-warning line');
      expect(warning.message).toBe('ECS_ANYWHERE_LB_DRYRUN (environment) is not an option of this agent and is ignored; did you mean ECS_ANYWHERE_LB_DRY_RUN?');
      const line = await dry.waitForLog((l) => l.event === 'registered', 'would-register line');
      expect(line.message).toBe(`would register tg/cmd2 ${HOST_IP}:${c.hostPort()}`);
      expect(world.targets('cmd2')).toEqual([]);
      expect(world.elb.requestLog.filter((e) => e.time >= since && e.action !== 'DescribeTargetHealth')).toEqual([]);
    } finally {
      await dry.stop('SIGTERM');
      await c.remove();
    }
  });

  it('check with a bad config exits 78 (EX_CONFIG) naming the option', async () => {
    const out = await command(['check'], { ECS_ANYWHERE_LB_ON_EXIT: 'sometimes' });
    expect(out.code).toBe(78);
    expect(out.stderr).toContain('invalid --on-exit (ECS_ANYWHERE_LB_ON_EXIT): "sometimes" is not one of auto, deregister, keep');
    // A fixed address no load balancer can target is a configuration error too.
    const publicIp = await command(['check'], { ECS_ANYWHERE_LB_HOST_IP: '8.8.8.8' });
    expect(publicIp.code).toBe(78);
    expect(publicIp.stderr).toContain('invalid --host-ip (ECS_ANYWHERE_LB_HOST_IP): a load balancer cannot target 8.8.8.8: public address');
  });

  it('names an unknown ECS_ANYWHERE_LB_* variable in a warning and still runs the command', async () => {
    const out = await command(['status'], { ECS_ANYWHERE_LB_RECONCILE_INTERVALL: '30s' });
    expect(out.stderr).toContain('warning: ECS_ANYWHERE_LB_RECONCILE_INTERVALL (environment) is not an option of this agent and is ignored; did you mean ECS_ANYWHERE_LB_RECONCILE_INTERVAL?');
    expect(out.code).toBe(0);
  });
});
