// The state file in a real temporary directory: round trip, what a missing, corrupt or
// foreign file gives, and what an atomic writer must leave behind.
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STATE_FILE, StateStore } from '../../agent/state/state-store.ts';
import { EMPTY_STATE, type AgentState } from '../../agent/core/state.ts';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';

const STATE: AgentState = {
  version: 1,
  addresses: ['10.8.0.10', '192.168.1.20'],
  targets: [
    { targetGroupArn: ARN, id: '10.8.0.10', port: 32768, availabilityZone: 'all', containerId: 'abc123', containerName: 'ecs-web-1-app', taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/c/0f1e' },
    { targetGroupArn: ARN, id: '10.8.0.10', port: 32769 },
  ],
};

/** A state with n targets, so that saves of different sizes can be told apart. */
const stateWith = (n: number): AgentState => ({
  version: 1,
  addresses: ['10.8.0.10'],
  targets: Array.from({ length: n }, (_, i) => ({ targetGroupArn: ARN, id: '10.8.0.10', port: 32768 + i, containerName: `c${i}` })),
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lb-agent-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StateStore', () => {
  it('keeps the file in the directory as state.json', () => {
    expect(new StateStore(dir).path).toBe(join(dir, STATE_FILE));
    expect(STATE_FILE).toBe('state.json');
  });

  it('loads what it saved', async () => {
    await new StateStore(dir).save(STATE);
    expect(await new StateStore(dir).load()).toStrictEqual(STATE);
  });

  it('replaces the previous state, also with a shorter one', async () => {
    const store = new StateStore(dir);
    await store.save(stateWith(50));
    await store.save(stateWith(1));
    expect(await store.load()).toStrictEqual(stateWith(1));
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toStrictEqual(stateWith(1));
  });

  it('gives the empty state when there is no file yet', async () => {
    expect(await new StateStore(dir).load()).toStrictEqual(EMPTY_STATE);
    expect(EMPTY_STATE).toStrictEqual({ version: 1, addresses: [], targets: [] });
  });

  it('gives the empty state when the directory does not exist yet', async () => {
    expect(await new StateStore(join(dir, 'not', 'yet')).load()).toStrictEqual(EMPTY_STATE);
  });

  it('creates a missing directory, private to its owner', async () => {
    const nested = join(dir, 'var', 'lib', 'agent');
    await new StateStore(nested).save(STATE);
    expect((await stat(nested)).mode & 0o777).toBe(0o700);
    expect(await new StateStore(nested).load()).toStrictEqual(STATE);
  });

  it('writes the file with mode 0600', async () => {
    const store = new StateStore(dir);
    await store.save(STATE);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
  });

  it('leaves no temporary files behind', async () => {
    const store = new StateStore(dir);
    for (let n = 0; n < 5; n++) await store.save(stateWith(n));
    expect(await readdir(dir)).toEqual([STATE_FILE]);
  });

  it('fills in missing lists of a version 1 file', async () => {
    await writeFile(join(dir, STATE_FILE), '{"version":1}');
    expect(await new StateStore(dir).load()).toStrictEqual(EMPTY_STATE);
  });

  it.each([
    ['an empty file', ''],
    ['a truncated file', JSON.stringify(STATE).slice(0, 30)],
    ['not JSON', 'version=1'],
    ['JSON null', 'null'],
    ['a JSON array', '[]'],
    ['a JSON number', '1'],
    ['a JSON string', '"state"'],
  ])('refuses %s with an error naming the path', async (_case, text) => {
    const store = new StateStore(dir);
    await writeFile(store.path, text);
    const err = await store.load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(store.path);
  });

  it('says how to recover from a corrupt file', async () => {
    const store = new StateStore(dir);
    await writeFile(store.path, '{"version":1,');
    await expect(store.load()).rejects.toThrow(`state ${store.path} is not valid JSON`);
    await expect(store.load()).rejects.toThrow('move it aside');
  });

  it.each([
    ['a newer version', { version: 2, addresses: [], targets: [] }, 'version 2'],
    ['version as text', { version: '1', addresses: [], targets: [] }, 'version 1'],
    ['no version', { addresses: ['10.0.0.1'], targets: [] }, 'version undefined'],
  ])('refuses %s, naming the path and the version', async (_case, json, fragment) => {
    const store = new StateStore(dir);
    await writeFile(store.path, JSON.stringify(json));
    await expect(store.load()).rejects.toThrow(`state ${store.path} has ${fragment}, this agent reads 1`);
  });

  it('names the path when the file cannot be read', async () => {
    const store = new StateStore(dir);
    await mkdir(store.path); // a directory where the file should be
    await expect(store.load()).rejects.toThrow(`reading state ${store.path}`);
  });

  it('ends with one complete state after concurrent saves', async () => {
    const store = new StateStore(dir);
    const states = [40, 3, 25, 1, 60, 7, 0, 33].map(stateWith);
    const outcomes = await Promise.allSettled(states.map((s) => store.save(s)));
    const text = await readFile(store.path, 'utf8');
    let saved: unknown;
    try {
      saved = JSON.parse(text);
    } catch {
      saved = 'not valid JSON';
    }
    expect({
      failedSaves: outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason)),
      fileHoldsOneOfTheStates: states.some((s) => JSON.stringify(s) === JSON.stringify(saved)),
      files: await readdir(dir),
    }).toEqual({ failedSaves: [], fileHoldsOneOfTheStates: true, files: [STATE_FILE] });
  });
});
