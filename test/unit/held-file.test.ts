// The changes the agent's policies hold, published for `status` (state/held-file.ts): written
// when they change, believed only while the agent that wrote them runs, removed when it stops,
// and a damaged file is named rather than trusted. Real files in a temp directory.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Parts } from '../../agent/commands/parts.ts';
import { passObserver } from '../../agent/commands/run.ts';
import { heldLines } from '../../agent/commands/status.ts';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import { ApiPace } from '../../agent/fleet/api-pace.ts';
import { Metrics } from '../../agent/metrics/metrics.ts';
import type { Log } from '../../agent/log.ts';
import { HELD_FILE, HeldFile, readHeld, type HeldEntry } from '../../agent/state/held-file.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const GATHERING: HeldEntry = { targetGroupArn: TG, change: 'register', target: '10.8.0.10:32768', why: 'gathering-starts', until: '2026-12-08T01:00:01.000Z' };
const BREAK: HeldEntry = { targetGroupArn: TG, change: 'deregister', target: '10.8.0.9:32768', why: 'make-before-break' };
const debugs: string[] = [];
const log: Log = { error: () => {}, warn: () => {}, info: () => {}, debug: (m: string) => void debugs.push(m), child: () => log };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'held-file-'));
  debugs.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Publishes and waits for the write. */
async function published(file: HeldFile, held: HeldEntry[]): Promise<void> {
  file.publish(held);
  await file.settled();
}

describe('HeldFile', () => {
  it('writes the held changes with its pid and time, and only when they change', async () => {
    let t = Date.parse('2026-12-08T01:00:00.000Z');
    const file = new HeldFile(dir, log, () => t);
    await published(file, [GATHERING, BREAK]);
    const first = JSON.parse(readFileSync(join(dir, HELD_FILE), 'utf8'));
    expect(first).toEqual({ pid: process.pid, at: '2026-12-08T01:00:00.000Z', held: [GATHERING, BREAK] });
    t += 5_000;
    await published(file, [GATHERING, BREAK]);
    expect(JSON.parse(readFileSync(join(dir, HELD_FILE), 'utf8')).at).toBe('2026-12-08T01:00:00.000Z');
    await published(file, []);
    expect(JSON.parse(readFileSync(join(dir, HELD_FILE), 'utf8'))).toEqual({ pid: process.pid, at: '2026-12-08T01:00:05.000Z', held: [] });
    expect(readdirSync(dir)).toEqual([HELD_FILE]);
  });

  it('is removed when the agent stops', async () => {
    const file = new HeldFile(dir, log);
    await published(file, [GATHERING]);
    await file.remove();
    expect(readdirSync(dir)).toEqual([]);
    expect(await readHeld(dir)).toEqual({});
  });

  it('a write that fails is logged and tried again at the next publish, even of the same changes', async () => {
    const missing = join(dir, 'file-in-the-way');
    writeFileSync(missing, '');
    const file = new HeldFile(join(missing, 'sub'), log);
    await published(file, [GATHERING]);
    expect(debugs).toEqual([expect.stringContaining(`cannot write ${join(missing, 'sub', HELD_FILE)}`)]);
    rmSync(missing);
    await published(file, [GATHERING]);
    expect(JSON.parse(readFileSync(join(missing, 'sub', HELD_FILE), 'utf8')).held).toEqual([GATHERING]);
  });
});

describe('readHeld (status)', () => {
  it.each<[string, (pid: number) => boolean, string | undefined, { report?: unknown; problem?: RegExp }]>([
    ['the running agent\'s report', () => true, undefined, { report: { pid: process.pid, held: [GATHERING] } }],
    ['nothing when the agent that wrote it is gone', () => false, undefined, {}],
    ['a problem naming the file when it is not JSON', () => true, '{"pid": 1, "at": "x", "held": [', { problem: /held\.json is not a held-changes report/ }],
    ['a problem when an entry is malformed', () => true, JSON.stringify({ pid: 1, at: 'x', held: [{ ...GATHERING, change: 'move' }] }), { problem: /is not a held-changes report/ }],
  ])('%s', async (_name, runs, text, expected) => {
    if (text === undefined) await published(new HeldFile(dir, log), [GATHERING]);
    else writeFileSync(join(dir, HELD_FILE), text);
    const got = await readHeld(dir, runs);
    if (expected.problem) expect(got).toEqual({ problem: expect.stringMatching(expected.problem) });
    else if (expected.report) expect(got).toEqual({ report: expect.objectContaining(expected.report) });
    else expect(got).toEqual({});
  });

  it('nothing when no agent ever wrote it', async () => {
    expect(await readHeld(dir)).toEqual({});
  });
});

describe("status's held lines", () => {
  it.each<[string, Parameters<typeof heldLines>[0], string[]]>([
    ['no agent running', undefined, []],
    ['nothing held', { at: '2026-12-08T01:00:00.000Z', changes: [] }, []],
    ['held changes, one line each, with until when', { at: '2026-12-08T01:00:00.000Z', changes: [GATHERING, BREAK] }, [
      'held for now (as of 2026-12-08T01:00:00.000Z):',
      '  tg/web register 10.8.0.10:32768 gathering-starts until 2026-12-08T01:00:01.000Z',
      '  tg/web deregister 10.8.0.9:32768 make-before-break',
    ]],
    ['a file that cannot be read', { changes: [], problem: 'cannot read /x/held.json: EACCES' }, ['held changes: cannot read /x/held.json: EACCES']],
  ])('%s', (_name, held, lines) => {
    expect(heldLines(held)).toEqual(lines);
  });
});

describe("run's pass observer", () => {
  it("publishes each pass's held changes as status shows them, and nothing held once they went", async () => {
    const file = new HeldFile(dir, log, () => Date.parse('2026-12-08T01:00:00.000Z'));
    const parts = { metrics: new Metrics(), log, pace: new ApiPace({ limits: DEFAULT_ELB_API_LIMITS, fleetSize: 1 }) } as unknown as Parts;
    const observe = passObserver(parts, file);
    const pass = { registered: 0, deregistered: 0, failed: 0, ownedTargets: 1, settled: false };
    observe({ ...pass, held: [{ targetGroupArn: TG, change: 'register', target: { id: '10.8.0.10', port: 32768 }, why: 'gathering-starts', until: Date.parse('2026-12-08T01:00:01.000Z') }] }, 5);
    await file.settled();
    expect((await readHeld(dir)).report?.held).toEqual([GATHERING]);
    observe({ ...pass, registered: 1, settled: true }, 5);
    await file.settled();
    expect((await readHeld(dir)).report?.held).toEqual([]);
  });
});
