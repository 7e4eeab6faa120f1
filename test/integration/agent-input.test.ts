// Bad input never crashes the agent or disturbs other containers: every malformed
// label, a group outside the allow-list, a group IAM refuses, a group that does not
// exist. Also the mapping file and --include-non-ecs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_IP, HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import { startPlainContainer } from '../support/ecs-container.ts';
import { inject } from 'vitest';
import { uniqueFamily } from '../support/ecs-deployment/index.ts';

let world: World;
let agent: AgentProcess | undefined;
const foreign = `${FOREIGN_IP}:31000`;
const MISSING_TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/missing/00000000deadbeef';

beforeAll(async () => {
  world = await createWorld({ groups: ['good', 'other', 'denied'] });
  world.elb.registerForeign(world.groups.good!, [{ id: FOREIGN_IP, port: 31000, availabilityZone: 'all' }]);
  // IAM (the endpoint's allow-list) lets this host change only "good" and "other".
  world.elb.setAllowedTargetGroups([world.groups.good!, world.groups.other!]);
});

afterEach(async () => {
  await agent?.stop('SIGKILL');
  agent = undefined;
});

afterAll(async () => {
  await world?.close();
});

describe('bad input', () => {
  it('skips each malformed or disallowed container with a log line naming it and the label, and keeps serving the rest', async () => {
    const good = world.groups.good!;
    const bad: [string, Record<string, string>, string, RegExp][] = [
      ['arn', { 'ecs-anywhere-lb.target-group-arn': 'arn:aws:nope' }, 'ecs-anywhere-lb.target-group-arn', /is not a target group ARN/],
      ['port-text', { ...targetLabels(good), 'ecs-anywhere-lb.container-port': 'http' }, 'ecs-anywhere-lb.container-port', /not a port number/],
      ['port-range', { ...targetLabels(good), 'ecs-anywhere-lb.container-port': '99999' }, 'ecs-anywhere-lb.container-port', /not a port number/],
      ['port-unpublished', targetLabels(good, 7000), 'ecs-anywhere-lb.target-group-arn', /container port 7000\/tcp is not published/],
      ['port-alone', { 'ecs-anywhere-lb.container-port': '8080' }, 'ecs-anywhere-lb.container-port', /without ecs-anywhere-lb.target-group-arn/],
      ['targets-entry', { 'ecs-anywhere-lb.targets': `${good}@x` }, 'ecs-anywhere-lb.targets', /"x" is not a port number/],
      ['targets-empty', { 'ecs-anywhere-lb.targets': ',' }, 'ecs-anywhere-lb.targets', /is empty/],
      ['not-allowed', targetLabels('arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/elsewhere/0123456789abcdef'), 'ecs-anywhere-lb.target-group-arn', /is not in --allowed-target-groups/],
    ];
    const ambiguous = await world.startContainer({ family: 'bad-two-ports', ports: [8080, 9090], dockerLabels: targetLabels(good) });
    const containers = await Promise.all(bad.map(([family, dockerLabels]) => world.startContainer({ family: `bad-${family}`, dockerLabels })));
    const fine = await world.startContainer({ family: 'fine', dockerLabels: targetLabels(good) });

    agent = world.startAgent({ ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: [good, world.groups.other].join(',') });
    await agent.ready();
    await world.waitForTargets('good', [`${HOST_IP}:${fine.hostPort()}`, foreign].sort(), 'only the well-labelled container registered');

    for (const [i, [family, , label, message]] of bad.entries()) {
      const line = await agent.waitForLog((l) => l.event === 'skipped' && l.container === containers[i]!.name, `skip line for ${family}`);
      expect(line, `skip line for ${family}`).toBeDefined();
      expect(line!.label).toBe(label);
      expect(String(line!.problem)).toMatch(message);
      expect(line!.message).toContain(containers[i]!.name);
    }
    expect(String((await agent.waitForLog((l) => l.event === 'skipped' && l.container === ambiguous.name, 'skip line for two ports')).problem)).toMatch(/publishes 2 TCP ports/);

    // A skipped container is reported once, not on every pass; the agent is still running. Only
    // this test's containers count: others on a shared engine are skipped (and said) too.
    const skipLines = () => agent!.find((l) => l.event === 'skipped' && [...containers, ambiguous].some((c) => c.name === l.container)).length;
    expect(skipLines()).toBe(bad.length + 1);
    const another = await world.startContainer({ family: 'fine', dockerLabels: targetLabels(good) });
    await world.waitForTargets('good', [`${HOST_IP}:${fine.hostPort()}`, `${HOST_IP}:${another.hostPort()}`, foreign].sort(), 'a later container still registers');
    expect(skipLines()).toBe(bad.length + 1);
    await Promise.all([...containers, ambiguous, fine, another].map((c) => c.remove()));
    await world.waitForTargets('good', [foreign], 'cleaned up', 20_000, ['initial', 'healthy', 'unhealthy']);
  });

  it('a group IAM refuses (AccessDenied) or that does not exist is logged; other groups keep working', async () => {
    const denied = await world.startContainer({ family: 'denied', dockerLabels: targetLabels(world.groups.denied!) });
    const missing = await world.startContainer({ family: 'missing', dockerLabels: targetLabels(MISSING_TG) });
    const ok = await world.startContainer({ family: 'ok', dockerLabels: targetLabels(world.groups.other!) });
    agent = world.startAgent({ ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: Object.values(world.groups).concat(MISSING_TG).join(',') });
    await agent.ready();
    await world.waitForTargets('other', [`${HOST_IP}:${ok.hostPort()}`], 'the allowed group filled');
    const errors = await agent.waitForLog((l) => l.event === 'error' && l.code === 'AccessDenied', 'AccessDenied logged');
    expect(errors.targetGroupArn).toBe(world.groups.denied);
    expect(errors.message).toMatch(/RegisterTargets .* in tg\/denied/);
    // The group that does not exist is written to before it is read: the API refuses it (here its IAM stand-in, AccessDenied).
    const notFound = await agent.waitForLog((l) => l.event === 'error' && l.targetGroupArn === MISSING_TG, 'missing group logged');
    expect(['AccessDenied', 'TargetGroupNotFound']).toContain(notFound.code);
    expect(world.targets('denied')).toEqual([]);
    // More passes (another container) retry quietly: each permanent error is logged at error level once per group.
    const more = await world.startContainer({ family: 'ok', dockerLabels: targetLabels(world.groups.other!) });
    await world.waitForTargets('other', [`${HOST_IP}:${ok.hostPort()}`, `${HOST_IP}:${more.hostPort()}`].sort(), 'another container registered');
    const errorLines = (arn: string, code: string) => agent!.find((l) => l.level === 'error' && l.code === code && l.targetGroupArn === arn).length;
    expect(errorLines(world.groups.denied!, 'AccessDenied')).toBe(1);
    expect(errorLines(MISSING_TG, String(notFound.code))).toBe(1);
    expect(agent.find((l) => l.level === 'error' && l.targetGroupArn === world.groups.other)).toEqual([]);
    await more.remove();
    expect(agent.find((l) => l.level === 'error' && l.event === 'fatal')).toEqual([]);
    await Promise.all([denied.remove(), missing.remove(), ok.remove()]);
    await world.waitForTargets('other', [], 'cleaned up', 20_000, ['initial', 'healthy', 'unhealthy']);
  });

  it('maps containers through a mapping file, and admits plain Docker containers only with --include-non-ecs', async () => {
    const mapping = join(world.stateDir, 'mapping.json');
    // A family of this run's own: the engine may be shared, and a mapping rule takes every container of its family.
    const family = uniqueFamily('legacy');
    writeFileSync(mapping, JSON.stringify({ mappings: [{ family, containerName: 'app', targetGroupArn: world.groups.other }] }));
    const legacy = await world.startContainer({ family });
    const docker = world.docker;
    const plain = await startPlainContainer(docker, { runId: inject('testRunId'), labels: targetLabels(world.groups.other!), compose: { project: 'demo', service: 'web' } });
    try {
      agent = world.startAgent({ ECS_ANYWHERE_LB_MAPPING_FILE: mapping });
      await agent.ready();
      await world.waitForTargets('other', [`${HOST_IP}:${legacy.hostPort()}`], 'mapped container registered, plain one not');
      await agent.stop('SIGKILL');
      agent = world.startAgent({ ECS_ANYWHERE_LB_MAPPING_FILE: mapping, ECS_ANYWHERE_LB_INCLUDE_NON_ECS: 'true' });
      await agent.ready();
      await world.waitForTargets('other', [`${HOST_IP}:${legacy.hostPort()}`, `${HOST_IP}:${plain.hostPort()}`].sort(), 'plain container admitted');
    } finally {
      await Promise.all([legacy.remove(), plain.remove()]);
    }
  });

  it('an invalid mapping file stops startup with a message naming the option and entry', async () => {
    const mapping = join(world.stateDir, 'bad-mapping.json');
    writeFileSync(mapping, JSON.stringify({ mappings: [{ family: 'x', containerName: 'y', targetGroupArn: 'nope' }] }));
    agent = world.startAgent({ ECS_ANYWHERE_LB_MAPPING_FILE: mapping });
    expect(await agent.exited).toBe(78);
    expect(agent.stderr).toMatch(/invalid --mapping-file \(ECS_ANYWHERE_LB_MAPPING_FILE\): .*mappings\[0\]\.targetGroupArn: "nope" is not a target group ARN/);
  });

  it('a bad option stops startup with a message naming it', async () => {
    agent = world.startAgent({ ECS_ANYWHERE_LB_VPC_CIDR: '10.0.0.0/33' });
    expect(await agent.exited).toBe(78);
    expect(agent.stderr).toContain('invalid --vpc-cidr (ECS_ANYWHERE_LB_VPC_CIDR): "10.0.0.0/33" is not an IPv4 CIDR');
  });
});
