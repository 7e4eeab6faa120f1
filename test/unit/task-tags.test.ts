// Service-level mapping, as pure tables: which group each container of a task joins from the
// task's tags (ecs-a.lbName with the Lambda solution's meaning, ecs-anywhere-lb.* with the
// labels' meaning), the precedence labels > tags > mapping file, the allow-list over all of
// them, and the problems that name the container.
import { describe, expect, it } from 'vitest';
import { computeDesired, tasksToAsk } from '../../agent/mapping/desired.ts';
import type { ContainerSnapshot, PortBinding } from '../../agent/core/container.ts';
import type { TaskMetadata } from '../../agent/core/task-metadata.ts';
import type { MappingRule } from '../../agent/mapping/mapping-file.ts';

const arn = (name: string, id: string) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/${id}`;
const A = arn('a', '0123456789abcdef');
const B = arn('b', 'fedcba9876543210');
const C = arn('c', '00112233445566aa');
const NAMES = new Map([[A, 'a'], [B, 'b'], [C, 'c']]);
const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef';

const tcp = (containerPort: number, hostPort: number): PortBinding => ({ containerPort, protocol: 'tcp', hostIp: '0.0.0.0', hostPort });

function container(name: string, ports: PortBinding[], labels: Record<string, string> = {}, metadataId?: string): ContainerSnapshot {
  return {
    id: `id-${name}`,
    name: `ecs-svc-1-${name}-aabbccddeeff00112233`,
    running: true,
    stopping: false,
    health: 'none',
    networkMode: 'bridge',
    ports,
    exposedPorts: [],
    ...(metadataId !== undefined ? { metadataId } : {}),
    labels: {
      'com.amazonaws.ecs.task-arn': TASK,
      'com.amazonaws.ecs.task-definition-family': 'svc',
      'com.amazonaws.ecs.container-name': name,
      ...labels,
    },
  };
}

const task = (tags: Record<string, string>, containerNames = ['web', 'api'], tagsFrom: TaskMetadata['tagsFrom'] = 'task'): TaskMetadata => ({ taskArn: TASK, serviceName: 'svc', tags, tagsFrom, containerNames });

const web = container('web', [tcp(8080, 32001)]);
const api = container('api', [tcp(9090, 32002)]);

function run(containers: ContainerSnapshot[], meta: TaskMetadata | undefined, extra: { rules?: MappingRule[]; allowed?: string[] } = {}) {
  const r = computeDesired({
    containers,
    rules: extra.rules ?? [],
    includeNonEcs: false,
    hostAddress: '10.8.0.10',
    ...(meta ? { tasks: new Map([[TASK, meta]]) } : {}),
    ...(extra.allowed ? { allowedTargetGroups: new Set(extra.allowed) } : {}),
  });
  return {
    endpoints: r.endpoints.map((e) => `${e.containerName.split('-')[3]}->${NAMES.get(e.targetGroupArn)}@${e.port}`).sort(),
    problems: r.problems.map((p) => `${p.containerName.split('-')[3]} ${p.source}: ${p.message}`),
  };
}

describe('ecs-a.lbName: the i-th ARN for the i-th container sorted by name', () => {
  it.each<[string, ContainerSnapshot[], TaskMetadata, string[]]>([
    ['two ARNs, two containers: api (first by name) gets the first', [web, api], task({ 'ecs-a.lbName': `${A} ${B}` }), ['api->a@32002', 'web->b@32001']],
    ['any whitespace separates, as the Lambda splits on \\s+', [web, api], task({ 'ecs-a.lbName': `  ${A}\n\t${B} ` }), ['api->a@32002', 'web->b@32001']],
    ['one ARN: only the first container by name', [web, api], task({ 'ecs-a.lbName': A }), ['api->a@32002']],
    ['sorted by code unit, as JavaScript compares: "Web" before "api"', [container('Web', [tcp(80, 32003)]), api], task({ 'ecs-a.lbName': `${A} ${B}` }, ['api', 'Web']), ['Web->a@32003', 'api->b@32002']],
    ['the index counts the task definition\'s containers, also those not on the host yet', [web], task({ 'ecs-a.lbName': `${A} ${B}` }), ['web->b@32001']],
    ['a service\'s own tags read the same way', [web, api], task({ 'ecs-a.lbName': `${A} ${B}` }, ['web', 'api'], 'service'), ['api->a@32002', 'web->b@32001']],
  ])('%s', (_case, containers, meta, expected) => {
    expect(run(containers, meta).endpoints).toEqual(expected);
  });

  it.each<[string, ContainerSnapshot[], TaskMetadata, string[]]>([
    ['no published port', [container('api', []), web], task({ 'ecs-a.lbName': `${A} ${B}` }), ['api task tag ecs-a.lbName: publishes 0 TCP ports (none): tag the service with ecs-anywhere-lb.targets=ARN@PORT instead, or label the container']],
    ['two published ports', [container('api', [tcp(80, 32010), tcp(81, 32011)]), web], task({ 'ecs-a.lbName': `${A} ${B}` }), ['api task tag ecs-a.lbName: publishes 2 TCP ports (80, 81): tag the service with ecs-anywhere-lb.targets=ARN@PORT instead, or label the container']],
    ['not an ARN', [web, api], task({ 'ecs-a.lbName': `${A} nonsense` }), ['web task tag ecs-a.lbName: entry 2 "nonsense" (for container web) is not a target group ARN']],
    ['a service tag is named so', [web, api], task({ 'ecs-a.lbName': `${A} nonsense` }, ['web', 'api'], 'service'), ['web service tag ecs-a.lbName: entry 2 "nonsense" (for container web) is not a target group ARN']],
  ])('skips the container, naming it, when it has %s', (_case, containers, meta, problems) => {
    const r = run(containers, meta);
    expect(r.problems).toEqual(problems);
    // The other container still joins its group.
    expect(r.endpoints.length).toBe(1);
  });
});

describe('ecs-anywhere-lb.* task tags: the labels\' meaning, for the containers that publish the port', () => {
  it.each<[string, ContainerSnapshot[], Record<string, string>, string[], string[]]>([
    ['target-group-arn: each container that publishes a TCP port', [web, api, container('log', [])], { 'ecs-anywhere-lb.target-group-arn': A }, ['api->a@32002', 'web->a@32001'], []],
    ['target-group-arn + container-port: the container that publishes it', [web, api], { 'ecs-anywhere-lb.target-group-arn': A, 'ecs-anywhere-lb.container-port': '9090' }, ['api->a@32002'], []],
    ['targets: each ARN@PORT to its container', [web, api], { 'ecs-anywhere-lb.targets': `${A}@8080,${B}@9090` }, ['api->b@32002', 'web->a@32001'], []],
    ['targets: a port no container publishes is one problem for the task', [web, api], { 'ecs-anywhere-lb.targets': `${A}@8080,${B}@7070` }, ['web->a@32001'], [`web task tag ecs-anywhere-lb.targets: no serving container of the task publishes container port 7070/tcp for ${B}`]],
    ['a malformed tag is reported once for the task', [web, api], { 'ecs-anywhere-lb.targets': 'junk' }, [], ['web task tag ecs-anywhere-lb.targets: "junk": "junk" is not a target group ARN']],
    ['both kinds: ecs-a.lbName and the agent\'s own', [web, api], { 'ecs-a.lbName': A, 'ecs-anywhere-lb.targets': `${C}@8080` }, ['api->a@32002', 'web->c@32001'], []],
  ])('%s', (_case, containers, tags, endpoints, problems) => {
    expect(run(containers, task(tags))).toEqual({ endpoints, problems });
  });
});

describe('precedence: labels > tags > mapping file; the allow-list over all', () => {
  const rule: MappingRule = { family: 'svc', containerName: 'web', targetGroupArn: C };
  it.each<[string, ContainerSnapshot[], TaskMetadata | undefined, { rules?: MappingRule[]; allowed?: string[] }, string[]]>([
    ['a labelled container ignores the tags; its unlabelled sibling follows them', [container('web', [tcp(8080, 32001)], { 'ecs-anywhere-lb.target-group-arn': C }), api], task({ 'ecs-a.lbName': `${A} ${B}` }), {}, ['api->a@32002', 'web->c@32001']],
    ['tags win over the mapping file', [web, api], task({ 'ecs-a.lbName': `${A} ${B}` }), { rules: [rule] }, ['api->a@32002', 'web->b@32001']],
    ['labels win over the mapping file', [container('web', [tcp(8080, 32001)], { 'ecs-anywhere-lb.target-group-arn': A })], undefined, { rules: [rule] }, ['web->a@32001']],
    ['the mapping file applies when the tags name nothing for the container', [web, api], task({ 'ecs-a.lbName': A }), { rules: [rule] }, ['api->a@32002', 'web->c@32001']],
    ['the mapping file applies without task metadata (endpoint unreachable)', [web, api], undefined, { rules: [rule] }, ['web->c@32001']],
    ['no tags that map: nothing', [web, api], task({ team: 'x' }), {}, []],
  ])('%s', (_case, containers, meta, extra, expected) => {
    expect(run(containers, meta, extra).endpoints).toEqual(expected);
  });

  it('refuses a tag\'s group outside --allowed-target-groups, naming the tag', () => {
    const r = run([web, api], task({ 'ecs-a.lbName': `${A} ${B}` }), { allowed: [A] });
    expect(r).toEqual({ endpoints: ['api->a@32002'], problems: [`web task tag ecs-a.lbName: target group ${B} is not in --allowed-target-groups`] });
  });
});

describe('tasksToAsk: one metadata id per task that has an unlabelled container', () => {
  it.each<[string, ContainerSnapshot[], [string, string][]]>([
    ['the first unlabelled container\'s id', [container('web', [], {}, 'id-web-0001'), container('api', [], {}, 'id-api-0002')], [[TASK, 'id-web-0001']]],
    ['no request for a task whose containers are all labelled', [container('web', [], { 'ecs-anywhere-lb.target-group-arn': A }, 'id-web-0001')], []],
    ['none without a metadata id', [container('web', [])], []],
    ['a labelled container\'s id is not used', [container('web', [], { 'ecs-anywhere-lb.targets': A }, 'id-web-0001'), container('api', [], {}, 'id-api-0002')], [[TASK, 'id-api-0002']]],
  ])('%s', (_case, containers, expected) => {
    expect([...tasksToAsk(containers, false)]).toEqual(expected);
  });
});
