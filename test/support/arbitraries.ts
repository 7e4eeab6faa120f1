// fast-check arbitraries for the property tests: label sets, raw options, mapping JSON and
// plan inputs, biased towards the values that matter (real ARNs and ports next to near
// misses and garbage, a few addresses and ports so that targets collide), and one seed for
// every property so a failure is reproduced by running the same file again.
import fc from 'fast-check';
import { ECS_CONTAINER_NAME_LABEL, ECS_FAMILY_LABEL, ECS_TASK_ARN_LABEL, type ContainerSnapshot } from '../../agent/core/container.ts';
import type { ActualTarget } from '../../agent/core/target-registry.ts';
import { CONTAINER_PORT_LABEL, READINESS_GATE_LABEL, TARGET_GROUP_ARN_LABEL, TARGETS_LABEL } from '../../agent/mapping/labels.ts';
import type { DesiredEndpoint } from '../../agent/mapping/desired.ts';
import { OUTCOME_UNKNOWN } from '../../agent/reconcile/plan.ts';
import { UNVERIFIED } from '../../agent/reconcile/group-view.ts';
import { OPTIONS } from '../../agent/config-options.ts';

/** The seed of every property run (ECSLB_PROPERTY_SEED overrides it to explore). */
export const PROPERTY_SEED = Number(process.env.ECSLB_PROPERTY_SEED ?? 20261202);

/** Parameters of one property: seeded, bounded, and reporting the seed and path of a failure. */
export const runs = (numRuns: number): fc.Parameters<unknown> => ({ seed: PROPERTY_SEED, numRuns, endOnFailure: true });

export const GROUPS = [
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef',
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210',
] as const;

/** This host's addresses (current and earlier) and other hosts' ones, few so that they collide. */
export const ADDRESSES = ['10.8.0.10', '10.8.0.6', '10.8.0.11', '10.8.0.99'] as const;
export const PORTS = [31000, 31001, 31002, 32768] as const;

/** Text for a label or option value: near misses next to valid ones, and any characters. */
const text = fc.oneof(
  fc.constantFrom(...GROUPS),
  fc.constantFrom(`${GROUPS[0]}@8080`, `${GROUPS[0]},${GROUPS[1]}@80`, `${GROUPS[1]}@`, `${GROUPS[1]}@0`, `@80`, ',', ' , ', 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1'),
  fc.constantFrom('80', '0', '65535', '65536', '-1', '1e3', ' 80 ', '080', 'true', 'false', 'TRUE', 'yes', '', ' '),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.tuple(fc.array(fc.oneof(fc.constantFrom(...GROUPS), fc.string({ maxLength: 8 }), fc.constantFrom('80', '65536')), { maxLength: 4 }), fc.constantFrom(',', '@', ', ')).map(([parts, sep]) => parts.join(sep)),
);

/** A container's labels: the agent's own, ECS's, and anything else. */
export const labelSet = fc.dictionary(
  fc.oneof(fc.constantFrom(TARGET_GROUP_ARN_LABEL, CONTAINER_PORT_LABEL, TARGETS_LABEL, READINESS_GATE_LABEL, ECS_TASK_ARN_LABEL, ECS_FAMILY_LABEL, ECS_CONTAINER_NAME_LABEL), fc.string({ maxLength: 12 })),
  text,
  { maxKeys: 6 },
);

/** Raw options as the environment or the command line give them, keyed by option name. */
export const rawOptions = fc.dictionary(fc.constantFrom(...OPTIONS.map((o) => o.name)), fc.oneof(text, fc.constantFrom('30s', '2m', '500ms', '1h', '0s', '100', 'auto', 'off', '127.0.0.1:9100', '10.0.0.0/16', '/var/lib/x', 'x/y', 'change=4:20', 'json', 'keep', 'tun0', '10.8.0.10')), { maxKeys: 8 });

/** JSON that may or may not be a mapping file. */
export const mappingJson = fc.oneof(
  fc.jsonValue(),
  fc.record({
    mappings: fc.array(
      fc.oneof(
        fc.jsonValue(),
        fc.record({ family: fc.oneof(fc.string(), fc.jsonValue()), containerName: fc.oneof(fc.string(), fc.jsonValue()), targetGroupArn: fc.oneof(fc.constantFrom(...GROUPS), fc.jsonValue()), containerPort: fc.oneof(fc.integer(), fc.jsonValue()) }, { requiredKeys: [] }),
      ),
      { maxLength: 4 },
    ),
  }),
);

/** A container as the Docker adapter would describe it, with random labels. */
export const containerSnapshot: fc.Arbitrary<ContainerSnapshot> = fc.record({
  id: fc.stringMatching(/^[0-9a-f]{12}$/).map((s) => s.padEnd(64, '0')),
  name: fc.oneof(fc.constantFrom('ecs-web-1-app', '~internal~ecs~pause', 'ecs-agent'), fc.string({ maxLength: 12 })),
  labels: labelSet,
  running: fc.boolean(),
  stopping: fc.boolean(),
  health: fc.constantFrom('none', 'starting', 'healthy', 'unhealthy'),
  networkMode: fc.constantFrom('bridge', 'host', 'awsvpc', 'container:abc'),
  ports: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom('tcp', 'udp'), hostIp: fc.constantFrom('', '0.0.0.0', '::', '10.8.0.10', '127.0.0.1'), hostPort: fc.integer({ min: 0, max: 65535 }) }), { maxLength: 3 }),
  exposedPorts: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom('tcp', 'udp') }), { maxLength: 3 }),
});

/** A target a group holds: any of the addresses and ports, in any state (the agent's own view states too). */
export const actualTarget: fc.Arbitrary<ActualTarget> = fc.record({
  id: fc.constantFrom(...ADDRESSES),
  port: fc.constantFrom(...PORTS),
  state: fc.constantFrom('initial', 'healthy', 'unhealthy', 'unused', 'draining', 'unavailable', OUTCOME_UNKNOWN, UNVERIFIED),
});

export const desiredEndpoint: fc.Arbitrary<DesiredEndpoint> = fc.record(
  {
    targetGroupArn: fc.constantFrom(...GROUPS),
    port: fc.constantFrom(...PORTS),
    containerId: fc.constantFrom('a', 'b', 'c'),
    containerName: fc.constantFrom('ecs-a', 'ecs-b'),
    gated: fc.constant(true as const),
  },
  { requiredKeys: ['targetGroupArn', 'port', 'containerId', 'containerName'] },
);

/**
 * The agent's labels as a task definition would carry them (a valid group, maybe a port, maybe
 * the gate), for properties that must also see label sets the agent accepts: random ones
 * (`labelSet`) mostly make problems.
 */
export const agentLabels: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      group: fc.constantFrom(...GROUPS),
      port: fc.constantFrom(null, null, '8080', '9090', '80'),
      targets: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.subarray([...GROUPS], { minLength: 1 }).map((arns) => arns.map((arn) => `${arn}@8080`).join(',')), weight: 1 }),
      gate: fc.constantFrom(null, null, 'true', 'false'),
    },
  )
  .map(({ group, port, targets, gate }) => ({
    ...(targets !== null ? { [TARGETS_LABEL]: targets } : { [TARGET_GROUP_ARN_LABEL]: group }),
    ...(port !== null && targets === null ? { [CONTAINER_PORT_LABEL]: port } : {}),
    ...(gate !== null ? { [READINESS_GATE_LABEL]: gate } : {}),
  }));

/**
 * A task container as the ECS agent starts it (ECS labels, the agent's labels, bridge mode with
 * its ports published, mostly running and healthy), so that a property about what gets
 * registered sees containers that do; `containerSnapshot` covers everything else.
 */
export const taskContainer: fc.Arbitrary<ContainerSnapshot> = fc
  .record({
    id: fc.stringMatching(/^[0-9a-f]{12}$/).map((s) => s.padEnd(64, '0')),
    family: fc.constantFrom('web', 'x'),
    labels: agentLabels,
    state: fc.constantFrom('up', 'up', 'up', 'up', 'stopped', 'stopping'),
    health: fc.constantFrom('none', 'healthy', 'healthy', 'starting', 'unhealthy'),
    containerPorts: fc.constantFrom([8080], [8080], [8080, 9090]),
    hostPort: fc.constantFrom(...PORTS),
    hostIp: fc.constantFrom('', '0.0.0.0', '0.0.0.0', '10.8.0.10', '10.8.0.6', '127.0.0.1'),
  })
  .map(({ id, family, labels, state, health, containerPorts, hostPort, hostIp }) => ({
    id,
    name: `ecs-${family}-1-app-${id.slice(0, 20)}`,
    labels: {
      [ECS_TASK_ARN_LABEL]: `arn:aws:ecs:us-east-1:123456789012:task/c/${id.slice(0, 32)}`,
      [ECS_FAMILY_LABEL]: family,
      [ECS_CONTAINER_NAME_LABEL]: 'app',
      ...labels,
    },
    running: state !== 'stopped',
    stopping: state === 'stopping',
    health,
    networkMode: 'bridge',
    ports: containerPorts.map((containerPort, i) => ({ containerPort, protocol: 'tcp' as const, hostIp, hostPort: hostPort + i })),
    exposedPorts: containerPorts.map((containerPort) => ({ containerPort, protocol: 'tcp' as const })),
  }));
