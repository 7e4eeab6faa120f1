// The agent's docker-proxy for real: the agent, whose environment names no Docker engine,
// registers a container it learns of through the proxy (list, inspect, the event stream),
// while every call that could change the host (create, exec, delete, unknown paths, extra
// parameters, a body) gets 403 through the same socket and changes nothing on the engine.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';

let world: World;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  world = await createWorld({ groups: ['proxied'] });
});

afterAll(async () => {
  await agent?.stop('SIGTERM');
  await world?.close();
});

/** One request over a unix socket: status and body. */
function call(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { host: 'docker', ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('docker-proxy', () => {
  it('serves the agent its reads and answers 403 to everything that could change the host', async () => {
    agent = world.startAgent();
    const proxy = agent.dockerProxy;
    expect(proxy).toBeDefined();
    const socketPath = (proxy?.dockerHost ?? '').replace(/^unix:\/\//, '');
    await agent.ready();
    const start = await agent.waitForLog((l) => l.event === 'start', 'start line');
    expect((start.config as { dockerHost: string }).dockerHost).toBe(proxy?.dockerHost);

    // A container started after the agent: only the proxied event stream and inspect can tell the agent about it.
    const c = await world.startContainer({ family: 'proxied', dockerLabels: targetLabels(world.groups.proxied!) });
    await world.waitForTargets('proxied', [`${HOST_IP}:${c.hostPort(8080)}`], 'registered through the proxy');
    expect(proxy?.refused()).toEqual([]);

    // What the forbidden calls would create carries this label: other tests' containers on the shared engine do not.
    const probe = { 'ecs-anywhere-lb-test.proxy-probe': `${process.pid}-${Date.now()}` };
    const forbidden: [string, string, string?][] = [
      ['POST', '/containers/create', JSON.stringify({ Image: 'ecs-anywhere-lb-test/busybox:2', Labels: probe, HostConfig: { Privileged: true, Binds: ['/:/host'] } })],
      ['POST', '/v1.41/containers/create', JSON.stringify({ Image: 'ecs-anywhere-lb-test/busybox:2', Labels: probe })],
      ['POST', `/containers/${c.id}/exec`, JSON.stringify({ Cmd: ['sh', '-c', 'echo pwned'] })],
      ['DELETE', `/containers/${c.id}?force=true`],
      ['POST', `/containers/${c.id}/stop`],
      ['GET', '/info'],
      ['GET', '/containers/json?all=true&filters=%7B%7D&size=true'],
      ['GET', `/containers/${c.id}/json/../../../info`],
      ['GET', `/containers/${c.id}/archive?path=/etc`],
      ['PUT', `/containers/${c.id}/archive?path=/`],
      ['GET', '/version', 'a body'],
    ];
    for (const [method, path, body] of forbidden) {
      const answer = await call(socketPath, method, path, body).catch((err: Error) => { throw new Error(`${method} ${path}: ${err.message}`); });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ message: expect.stringMatching(/^ecs-anywhere-lb-agent docker-proxy: /) });
    }
    // The reads it allows still work, and nothing was created, run or removed.
    expect((await call(socketPath, 'GET', '/version')).status).toBe(200);
    const label = Object.entries(probe).map(([k, v]) => `${k}=${v}`);
    expect(await world.docker.listContainers({ all: true, filters: JSON.stringify({ label }) })).toEqual([]);
    const after = await c.container.inspect();
    expect(after.State.Running).toBe(true);
    expect(after.ExecIDs ?? []).toEqual([]);
    expect(proxy?.refused()).toHaveLength(forbidden.length);
  }, 60_000);
});
