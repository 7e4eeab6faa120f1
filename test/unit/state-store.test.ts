// The state file in a real temporary directory: round trip, what a missing, corrupt or
// foreign file gives, and what an atomic writer must leave behind.
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STATE_FILE, StateStore, asideFiles, probeWrite } from '../../agent/state/state-store.ts';
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

  it('keeps fields it does not know (another version\'s or another part\'s), in the state and through a save', async () => {
    const store = new StateStore(dir);
    await writeFile(store.path, JSON.stringify({ ...STATE, futureField: { a: 1 } }));
    const loaded = await store.load();
    expect(loaded).toStrictEqual({ ...STATE, futureField: { a: 1 } });
    await store.save(loaded);
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toStrictEqual({ ...STATE, futureField: { a: 1 } });
  });

  it.each([
    ['an empty file', '', 'is empty', 0],
    // Cut inside the second record: the first one is whole.
    ['a truncated file', JSON.stringify(STATE, null, 2).slice(0, JSON.stringify(STATE, null, 2).indexOf('}') + 40), 'is cut short', 1],
    ['not JSON', 'version=1', 'is not valid JSON', 0],
    ['JSON null', 'null', 'is not a JSON object', 0],
    ['a JSON array', '[]', 'is not a JSON object', 0],
    ['a newer version', JSON.stringify({ ...STATE, version: 2 }), 'has version 2, this agent reads 1', 2],
  ])('moves %s aside under a name with the time, and starts from the empty state', async (_case, text, problem, salvaged) => {
    const at = new Date('2026-12-02T01:02:03.456Z');
    const store = new StateStore(dir, { now: () => at });
    await writeFile(store.path, text);
    expect(await store.load()).toStrictEqual(EMPTY_STATE);
    const aside = join(dir, 'state.json.corrupt-2026-12-02T01-02-03Z');
    expect(store.recovery?.problem.startsWith(`state ${store.path} ${problem}`)).toBe(true);
    expect(store.recovery?.movedTo).toBe(aside);
    expect(store.recovery?.salvaged).toHaveLength(salvaged);
    expect(await readFile(aside, 'utf8')).toBe(text);
    expect(await readdir(dir)).toEqual(['state.json.corrupt-2026-12-02T01-02-03Z']);
    expect(await asideFiles(dir)).toEqual([aside]);
  });

  it('keeps every damaged file: a second one in the same second gets its own name', async () => {
    const at = new Date('2026-12-02T01:02:03Z');
    for (const text of ['{"version":', 'garbage']) {
      await writeFile(join(dir, STATE_FILE), text);
      await new StateStore(dir, { now: () => at }).load();
    }
    expect((await readdir(dir)).sort()).toEqual(['state.json.corrupt-2026-12-02T01-02-03Z', 'state.json.corrupt-2026-12-02T01-02-03Z.1']);
    expect(await readFile(join(dir, 'state.json.corrupt-2026-12-02T01-02-03Z.1'), 'utf8')).toBe('garbage');
  });

  it('leaves a damaged file in place when told to (read-only commands), and says so', async () => {
    const store = new StateStore(dir, { moveAside: false });
    await writeFile(store.path, '{"version":1,');
    expect(await store.load()).toStrictEqual(EMPTY_STATE);
    expect(store.recovery?.movedTo).toBeUndefined();
    expect(await readdir(dir)).toEqual([STATE_FILE]);
  });

  it('moves aside what it cannot read (a directory where the file should be)', async () => {
    const store = new StateStore(dir, { now: () => new Date('2026-12-02T01:02:03Z') });
    await mkdir(store.path);
    expect(await store.load()).toStrictEqual(EMPTY_STATE);
    expect(store.recovery?.problem).toMatch(new RegExp(`^state ${store.path} cannot be read \\(EISDIR`));
    expect(store.recovery?.movedTo).toBe(`${store.path}.corrupt-2026-12-02T01-02-03Z`);
    await store.save(STATE);
    expect(await new StateStore(dir).load()).toStrictEqual(STATE);
  });

  it('inspects without changing anything', async () => {
    const store = new StateStore(dir);
    expect(await store.inspect()).toEqual({ kind: 'missing' });
    await writeFile(store.path, 'garbage');
    expect(await store.inspect()).toEqual({ kind: 'unusable', problem: expect.stringContaining('is not valid JSON') as string, salvaged: [] });
    expect(await readdir(dir)).toEqual([STATE_FILE]);
  });

  it('removes the temp files of a writer that died mid-write, and no live writer\'s', async () => {
    const dead = ['state.json.999999999.3.tmp', 'state.json.999999998.probe.tmp', 'mapping.last-good.json.999999997.tmp'];
    const live = `state.json.${process.ppid}.1.tmp`;
    for (const name of [...dead, live, 'notes.tmp']) await writeFile(join(dir, name), '{"vers');
    await new StateStore(dir).load();
    expect((await readdir(dir)).sort()).toEqual(['notes.tmp', live]);
  });

  it('leaves nothing of a failed write behind and keeps the previous file (a directory where the temp file goes)', async () => {
    const store = new StateStore(dir);
    await store.save(STATE);
    // The next temp name is taken by a directory: open() fails as it would on a full or read-only disk.
    await mkdir(`${store.path}.${process.pid}.2.tmp`);
    await expect(store.save(stateWith(3))).rejects.toThrow();
    expect(await store.load()).toStrictEqual(STATE);
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

describe('probeWrite', () => {
  it('says nothing when a state file could be written, and leaves nothing behind', async () => {
    expect(await probeWrite(dir)).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it('names the error when the directory cannot be written', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, '');
    expect(await probeWrite(file)).toMatch(/EEXIST|ENOTDIR/);
  });
});
