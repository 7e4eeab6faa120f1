// The pure parts of the Docker side: event lines as the engine writes them, the `since`
// parameter, kill signals, health from list status text, and exposed-port keys.
import { describe, expect, it } from 'vitest';
import type { ContainerEvent } from '../../agent/core/container.ts';
import { healthFromStatus, parseDockerTime, parsePortKey } from '../../agent/docker/container-snapshot.ts';
import { isStopSignal } from '../../agent/docker/stop-signals.ts';
import { RELEVANT_ACTIONS, parseDockerEvent, sinceParam } from '../../agent/docker/event-watcher.ts';

const ID = '3f4e8a1b2c9d0e7f6a5b4c3d2e1f00112233445566778899aabbccddeeff0011';
const NAME = 'ecs-web-3-app-e8c4d2b1a0f9b8c7a601';
const line = (o: object) => JSON.stringify(o);

/**
 * A container event line as Docker Engine 25+ (API 1.44+) writes it. The default time is
 * one a double holds exactly; the precision test below uses ones it does not.
 */
const T = '1732390000123456768';
const modern = (action: string, attributes: Record<string, string> = {}, timeNano = T) =>
  `{"Type":"container","Action":${JSON.stringify(action)},"Actor":{"ID":"${ID}","Attributes":${JSON.stringify({
    'com.amazonaws.ecs.container-name': 'app',
    image: 'nginx:alpine',
    name: NAME,
    ...attributes,
  })}},"scope":"local","time":${timeNano.slice(0, -9)},"timeNano":${timeNano}}`;

describe('parseDockerEvent', () => {
  it.each<[string, string, ContainerEvent]>([
    ['start', modern('start'), { action: 'start', id: ID, name: NAME, timeNano: BigInt(T) }],
    ['kill with its signal attribute', modern('kill', { signal: '15' }), { action: 'kill', id: ID, name: NAME, signal: '15', timeNano: BigInt(T) }],
    ['kill with SIGKILL', modern('kill', { signal: '9' }), { action: 'kill', id: ID, name: NAME, signal: '9', timeNano: BigInt(T) }],
    ['die', modern('die', { exitCode: '137' }), { action: 'die', id: ID, name: NAME, timeNano: BigInt(T) }],
    ['stop', modern('stop'), { action: 'stop', id: ID, name: NAME, timeNano: BigInt(T) }],
    ['health_status: healthy', modern('health_status: healthy'), { action: 'health_status', id: ID, name: NAME, timeNano: BigInt(T) }],
    ['health_status: unhealthy', modern('health_status: unhealthy'), { action: 'health_status', id: ID, name: NAME, timeNano: BigInt(T) }],
    ['exec_start: sh -c ... (the command may hold colons)', modern('exec_start: sh -c echo a:b', { execID: 'f00d' }), { action: 'exec_start', id: ID, name: NAME, timeNano: BigInt(T) }],
    [
      'the older format with status, id and from beside Action (API < 1.44)',
      line({ status: 'destroy', id: ID, from: 'nginx:alpine', Type: 'container', Action: 'destroy', Actor: { ID, Attributes: { name: NAME } }, scope: 'local', time: 1700000000, timeNano: 1700000000000000000 }),
      { action: 'destroy', id: ID, name: NAME, timeNano: 1700000000000000000n },
    ],
    [
      'the oldest format: status and id only, time in seconds',
      line({ status: 'die', id: ID, from: 'busybox', time: 1700000001 }),
      { action: 'die', id: ID, timeNano: 1700000001000000000n },
    ],
    ['no attributes at all', line({ Type: 'container', Action: 'pause', Actor: { ID }, time: 5, timeNano: 5000000001 }), { action: 'pause', id: ID, timeNano: 5000000001n }],
  ])('%s', (_case, text, expected) => {
    expect(parseDockerEvent(text)).toStrictEqual(expected);
  });

  it('keeps timeNano exact to the nanosecond (it is larger than 2^53)', () => {
    // Resuming with since = last + 1 ns must not skip or repeat events in the same microsecond.
    const times = ['1732390000123456789', '1732390000123456790', '1732390000999999999'];
    expect(times.map((t) => parseDockerEvent(modern('start', {}, t))?.timeNano)).toEqual(times.map((t) => BigInt(t)));
  });

  it('takes the event time, not a label that happens to be called timeNano', () => {
    const event = parseDockerEvent(modern('start', { timeNano: '7', note: '"timeNano":8' }, '1732390000123456789'));
    expect(event?.timeNano).toBe(1732390000123456789n);
  });

  it.each([
    ['a network connect event', line({ Type: 'network', Action: 'connect', Actor: { ID: 'b1c2d3', Attributes: { container: ID, name: 'bridge', type: 'bridge' } }, scope: 'local', time: 1, timeNano: 1000000000 })],
    ['a network disconnect event', line({ Type: 'network', Action: 'disconnect', Actor: { ID: 'b1c2d3', Attributes: { container: ID, name: 'bridge' } }, time: 1, timeNano: 1000000000 })],
    ['an image pull event', line({ status: 'pull', id: 'nginx:alpine', Type: 'image', Action: 'pull', Actor: { ID: 'nginx:alpine', Attributes: { name: 'nginx' } }, time: 1, timeNano: 1000000000 })],
    ['a volume event', line({ Type: 'volume', Action: 'mount', Actor: { ID: 'vol', Attributes: { container: ID } }, time: 1, timeNano: 1000000000 })],
    ['a container event without an actor or id', line({ Type: 'container', Action: 'start', time: 1 })],
    ['a container event without an action', line({ Type: 'container', Actor: { ID }, time: 1 })],
    ['an empty action', line({ Type: 'container', Action: '', Actor: { ID }, time: 1 })],
    ['not JSON', 'Error response from daemon: client version 1.52 is too new'],
    ['a truncated line', modern('start').slice(0, 40)],
    ['the empty string', ''],
    ['an empty object', '{}'],
    ['a JSON array', '[1,2]'],
    ['a JSON number', '42'],
    ['a JSON string', '"start"'],
    ['JSON null', 'null'],
  ])('ignores %s', (_case, text) => {
    expect(parseDockerEvent(text)).toBeUndefined();
  });

  it('treats health_status as the action the watcher passes on, exec_* as one it drops', () => {
    const health = parseDockerEvent(modern('health_status: healthy'));
    const exec = parseDockerEvent(modern('exec_create: sh'));
    expect([health?.action, exec?.action]).toEqual(['health_status', 'exec_create']);
    expect(RELEVANT_ACTIONS.has(exec?.action ?? '')).toBe(false);
  });

  it.each(['create', 'start', 'restart', 'kill', 'die', 'stop', 'destroy', 'pause', 'unpause'])('counts %s as a relevant action', (action) => {
    expect(RELEVANT_ACTIONS.has(action)).toBe(true);
  });

  it.each(['attach', 'exec_start', 'exec_die', 'rename', 'resize', 'top', 'commit', 'oom'])('does not count %s as relevant', (action) => {
    expect(RELEVANT_ACTIONS.has(action)).toBe(false);
  });
});

describe('sinceParam', () => {
  it.each([
    [1732390000123456789n, '1732390000.123456789'],
    [1732390000000000001n, '1732390000.000000001'],
    [1732390000000000000n, '1732390000.000000000'],
    [1732390000100000000n, '1732390000.100000000'],
    [999999999n, '0.999999999'],
    [5n, '0.000000005'],
    [0n, '0.000000000'],
  ])('%s ns -> %s', (ns, text) => {
    expect(sinceParam(ns)).toBe(text);
  });

  it('resumes one nanosecond after the last event, across a second boundary', () => {
    expect(sinceParam(1732390000999999999n + 1n)).toBe('1732390001.000000000');
  });
});

describe('isStopSignal', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, true],
    ['15', true],
    ['9', true],
    ['2', true],
    ['3', true],
    ['SIGTERM', true],
    ['sigterm', true],
    ['TERM', true],
    ['SIGKILL', true],
    ['KILL', true],
    ['SIGINT', true],
    ['SIGQUIT', true],
    ['1', false],
    ['SIGHUP', false],
    ['HUP', false],
    ['10', false],
    ['SIGUSR1', false],
    ['SIGUSR2', false],
    ['28', false],
    ['SIGWINCH', false],
    ['0', false],
    ['', false],
  ])('%s -> %s', (signal, expected) => {
    expect(isStopSignal(signal)).toBe(expected);
  });
});

describe('healthFromStatus', () => {
  it.each<[string | undefined, string]>([
    ['Up 5 minutes (healthy)', 'healthy'],
    ['Up About an hour (healthy)', 'healthy'],
    ['Up 3 seconds (health: starting)', 'starting'],
    ['Up 2 minutes (unhealthy)', 'unhealthy'],
    ['Up 10 minutes', 'none'],
    ['Up 10 minutes (Paused)', 'none'],
    ['Restarting (1) 5 seconds ago', 'none'],
    ['Exited (0) 3 minutes ago', 'none'],
    ['Created', 'none'],
    ['', 'none'],
    [undefined, 'none'],
  ])('%j -> %s', (status, expected) => {
    expect(healthFromStatus(status)).toBe(expected);
  });
});

describe('parsePortKey', () => {
  it.each<[string, { containerPort: number; protocol: string } | undefined]>([
    ['8080/tcp', { containerPort: 8080, protocol: 'tcp' }],
    ['53/udp', { containerPort: 53, protocol: 'udp' }],
    ['9999/sctp', { containerPort: 9999, protocol: 'sctp' }],
    ['80', { containerPort: 80, protocol: 'tcp' }],
    ['1/tcp', { containerPort: 1, protocol: 'tcp' }],
    ['65535/tcp', { containerPort: 65535, protocol: 'tcp' }],
    ['0/tcp', undefined],
    ['65536/tcp', undefined],
    ['http/tcp', undefined],
    ['80.5/tcp', undefined],
    ['-80/tcp', undefined],
    ['/tcp', undefined],
    ['', undefined],
  ])('%j -> %j', (key, expected) => {
    expect(parsePortKey(key)).toStrictEqual(expected);
  });
});

describe('parseDockerTime', () => {
  const SECOND = 1_000_000_000n;
  const T0 = BigInt(Date.UTC(2026, 10, 23, 19, 43, 58)) * 1_000_000n;
  it.each<[string | undefined, bigint | undefined]>([
    ['2026-11-23T19:43:58.123456789Z', T0 + 123456789n],
    ['2026-11-23T19:43:58.5Z', T0 + 500_000_000n],
    ['2026-11-23T19:43:58.000000001Z', T0 + 1n],
    ['2026-11-23T19:43:58Z', T0],
    ['2026-11-23T21:43:58.25+02:00', T0 + 250_000_000n],
    ['2026-11-23T14:43:58-05:00', T0],
    ['1970-01-01T00:00:01Z', SECOND],
    ['0001-01-01T00:00:00Z', undefined], // Docker's zero time: never started
    ['2026-11-23T19:43:58.1234567891Z', undefined],
    ['2026-11-23 19:43:58Z', undefined],
    ['2026-11-23T19:43:58', undefined],
    ['yesterday', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j -> %s ns', (text, expected) => {
    expect(parseDockerTime(text)).toBe(expected);
  });

  it('orders a start after a stop mark within the same millisecond', () => {
    const mark = parseDockerTime('2026-11-23T19:43:58.123456000Z') as bigint;
    const start = parseDockerTime('2026-11-23T19:43:58.123456789Z') as bigint;
    expect(start > mark).toBe(true);
  });
});
