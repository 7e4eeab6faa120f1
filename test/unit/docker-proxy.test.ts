// The docker-proxy's policy as a table: exactly the agent's five reads pass, with their own
// query parameters; every other method, path, parameter, body or upgrade is refused.
import { describe, expect, it } from 'vitest';
import { engineSocketOf, proxyListenOf } from '../../agent/commands/docker-proxy.ts';
import { refusalOf } from '../../agent/docker/docker-proxy.ts';
import { parseDockerEndpoint } from '../../agent/docker-endpoint.ts';

const ID = 'f'.repeat(64);
const EVENTS_FILTER = encodeURIComponent(JSON.stringify({ type: ['container'] }));

describe('refusalOf', () => {
  it.each([
    ['list containers', '/containers/json?all=false'],
    ['list containers, API version prefix', '/v1.41/containers/json?all=false'],
    ['inspect by id', `/containers/${ID}/json`],
    ['inspect by name', '/containers/ecs-web-1-app-abc/json'],
    ['events', `/events?filters=${EVENTS_FILTER}`],
    ['events resumed', `/events?filters=${EVENTS_FILTER}&since=1765000000.000000001`],
    ['the bridge network', '/networks/bridge'],
    ['version', '/version'],
  ])('passes %s', (_case, url) => {
    expect(refusalOf('GET', url, {})).toBeUndefined();
  });

  it.each([
    ['create a container', 'POST', '/containers/create', {}, /method POST not allowed/],
    ['exec in a container', 'POST', `/containers/${ID}/exec`, {}, /method POST not allowed/],
    ['remove a container', 'DELETE', `/containers/${ID}`, {}, /method DELETE not allowed/],
    ['HEAD', 'HEAD', '/version', {}, /method HEAD not allowed/],
    ['an unknown path', 'GET', '/info', {}, /GET \/info is not one of the agent's Docker calls/],
    ['a path under an allowed one', 'GET', `/containers/${ID}/json/extra`, {}, /not one of the agent's Docker calls/],
    ['another network', 'GET', '/networks/host', {}, /not one of the agent's Docker calls/],
    ['a container archive', 'GET', `/containers/${ID}/archive?path=/`, {}, /not one of the agent's Docker calls/],
    ['dot segments', 'GET', `/containers/${ID}/../../info`, {}, /not in canonical form/],
    ['percent-encoding', 'GET', '/containers/%2e%2e/json', {}, /not in canonical form/],
    ['an absolute URL', 'GET', 'http://docker/version', {}, /not an origin-form/],
    ['an extra parameter', 'GET', '/containers/json?all=true&size=true', {}, /query parameter "size" not allowed for list containers/],
    ['a parameter of another call', 'GET', '/version?since=1', {}, /query parameter "since" not allowed for version/],
    ['a repeated parameter', 'GET', '/containers/json?all=false&all=true', {}, /repeats/],
    ['a body', 'GET', '/version', { 'content-length': '5' }, /request body/],
    ['a chunked body', 'GET', '/version', { 'transfer-encoding': 'chunked' }, /request body/],
    ['an upgrade', 'GET', '/version', { upgrade: 'tcp' }, /upgrades/],
  ])('refuses %s', (_case, method, url, headers, reason) => {
    expect(refusalOf(method, url, headers)).toMatch(reason);
  });
});

describe('where the proxy listens and forwards', () => {
  it.each([
    ['the socket systemd passed to this process', { LISTEN_FDS: '1', LISTEN_PID: '42' }, { fd: 3 }],
    ['--docker-host\'s path when the passed socket is another process\'s', { LISTEN_FDS: '1', LISTEN_PID: '7' }, { path: '/run/ecs-anywhere-lb-agent/docker.sock' }],
    ['--docker-host\'s path without socket activation', {}, { path: '/run/ecs-anywhere-lb-agent/docker.sock' }],
  ])('%s', (_case, env, listen) => {
    expect(proxyListenOf(env, 'unix:///run/ecs-anywhere-lb-agent/docker.sock', 42)).toEqual(listen);
  });

  it.each([
    ['two passed sockets', { LISTEN_FDS: '2', LISTEN_PID: '42' }, 'unix:///run/x.sock', /LISTEN_FDS.*exactly one socket/],
    ['a tcp --docker-host', {}, 'tcp://127.0.0.1:2375', /unix socket only/],
    ['a relative path', {}, 'unix://docker.sock', /not unix:\/\/\/ABSOLUTE\/PATH/],
  ])('refuses %s', (_case, env, dockerHost, message) => {
    expect(() => proxyListenOf(env, dockerHost, 42)).toThrow(message);
  });

  it.each([
    [{}, '/var/run/docker.sock'],
    [{ DOCKER_HOST: '' }, '/var/run/docker.sock'],
    [{ DOCKER_HOST: 'unix:///tmp/engine.sock' }, '/tmp/engine.sock'],
  ])('forwards to the engine at %j', (env, socket) => {
    expect(engineSocketOf(env)).toBe(socket);
  });

  it('refuses a tcp engine', () => {
    expect(() => engineSocketOf({ DOCKER_HOST: 'tcp://10.0.0.1:2376' })).toThrow(/invalid DOCKER_HOST: .*unix socket only/);
  });

  it.each([
    ['unix:///run/x.sock', { socketPath: '/run/x.sock' }],
    ['tcp://127.0.0.1:2375', { host: '127.0.0.1', port: 2375 }],
    ['tcp://[::1]:2375', { host: '::1', port: 2375 }],
  ])('--docker-host %s', (text, endpoint) => {
    expect(parseDockerEndpoint(text)).toEqual(endpoint);
  });
});
