// The state journal in a real temporary directory: notes made ahead of calls are what a load
// gives back (with or without a saved state), a later save is not undone by older notes, a
// note cut short is skipped and said, and the journal is cut back once it has grown.
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMPACT_BYTES, JOURNAL_FILE, STATE_FILE, StateStore } from '../../agent/state/state-store.ts';
import { journalLine, parseJournalText } from '../../agent/state/state-file.ts';
import { withNotes, type AgentState, type OwnedTarget, type StateNote } from '../../agent/core/state.ts';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const target = (port: number, id = '10.8.0.10'): OwnedTarget => ({ targetGroupArn: ARN, id, port, containerId: `c${port}`, containerName: `ecs-web-${port}` });
const note = (t: OwnedTarget, addresses: string[] = []): StateNote => ({ targets: [t], addresses });
const BASE: AgentState = { version: 1, addresses: ['10.8.0.10'], targets: [target(32768)] };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lb-agent-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StateStore notes', () => {
  it('gives back a note made after the last save, in a new process', async () => {
    const store = new StateStore(dir);
    await store.save(BASE);
    await store.note(note(target(32769, '10.9.0.5'), ['10.9.0.5']));
    const loaded = await new StateStore(dir).load();
    expect(loaded.targets.map((t) => `${t.id}:${t.port}`)).toEqual(['10.8.0.10:32768', '10.9.0.5:32769']);
    expect(loaded.addresses).toEqual(['10.8.0.10', '10.9.0.5']);
    expect(loaded).not.toHaveProperty('journalSeq');
  });

  it('gives back notes when nothing was saved yet (the first registration of a new host)', async () => {
    await new StateStore(dir).note(note(target(32770), ['10.8.0.10']));
    expect(await new StateStore(dir).load()).toStrictEqual({ version: 1, addresses: ['10.8.0.10'], targets: [target(32770)] });
    expect((await new StateStore(dir).inspect()).kind).toBe('ok');
  });

  it('does not bring back a record a later save dropped (the call failed, or the target was deregistered)', async () => {
    const store = new StateStore(dir);
    await store.save(BASE);
    await store.note(note(target(32771)));
    await store.save(BASE);
    expect(await new StateStore(dir).load()).toStrictEqual(BASE);
  });

  it('numbers on across restarts: a note after a reload is not mistaken for one the saved state took in', async () => {
    const first = new StateStore(dir);
    await first.save(BASE);
    await first.note(note(target(32772)));
    await first.save(withNotes(BASE, [note(target(32772))]));
    const second = new StateStore(dir);
    await second.load();
    await second.note(note(target(32773)));
    expect((await new StateStore(dir).load()).targets.map((t) => t.port)).toEqual([32768, 32772, 32773]);
  });

  it('skips a line cut short by a process that died mid-write and says so; the notes around it count', async () => {
    const store = new StateStore(dir);
    await store.save(BASE);
    await store.note(note(target(32774)));
    // The process died mid-write; the next one loads, and notes on.
    await appendFile(join(dir, JOURNAL_FILE), '{"seq":3,"targets":[{"targetGroupArn":"arn:aws:elastic');
    const next = new StateStore(dir);
    await next.load();
    await next.note(note(target(32775)));
    const reader = new StateStore(dir);
    expect((await reader.load()).targets.map((t) => t.port)).toEqual([32768, 32774, 32775]);
    expect(reader.notice).toContain('1 line(s) cut short skipped');
    expect(reader.recovery).toBeUndefined();
  });

  it('counts a damaged saved state\'s journal records among those that could be read', async () => {
    const store = new StateStore(dir);
    await store.save(BASE);
    await store.note(note(target(32776)));
    await writeFile(join(dir, STATE_FILE), '{"version":1,"addresses":["10.8.0.10"],"targets":[{"targetGroupArn":"');
    const reader = new StateStore(dir);
    expect(await reader.load()).toStrictEqual({ version: 1, addresses: [], targets: [] });
    expect(reader.recovery?.salvaged.map((t) => t.port)).toEqual([32776]);
  });

  it('writes the journal with mode 0600 and cuts it back after a save once it outgrew its bound', async () => {
    const store = new StateStore(dir);
    await store.save(BASE);
    let state = BASE;
    for (let port = 40000; ((await stat(join(dir, JOURNAL_FILE)).catch(() => undefined))?.size ?? 0) <= COMPACT_BYTES; port++) {
      await store.note(note(target(port)));
      state = withNotes(state, [note(target(port))]);
    }
    expect((await stat(join(dir, JOURNAL_FILE))).mode & 0o777).toBe(0o600);
    await store.save(state);
    expect((await stat(join(dir, JOURNAL_FILE))).size).toBe(0);
    expect(await new StateStore(dir).load()).toStrictEqual(state);
    await store.note(note(target(50000)));
    expect((await new StateStore(dir).load()).targets).toContainEqual(target(50000));
  });

  it('writes each note as one line that parses back', async () => {
    await new StateStore(dir).note(note(target(32777), ['10.8.0.10']));
    const text = await readFile(join(dir, JOURNAL_FILE), 'utf8');
    // A process's first line begins on a line of its own: a fragment an earlier process left stays apart.
    expect(text).toBe(`\n${journalLine(1, note(target(32777), ['10.8.0.10']))}`);
    expect(text.endsWith('\n')).toBe(true);
  });
});

describe('parseJournalText', () => {
  const good = journalLine(4, note(target(1000)));
  it.each([
    ['an empty journal', '', 0, 0],
    ['one entry', good, 1, 0],
    ['blank lines (what fills a page after a failed write)', `\n\n${good}\n\n`, 1, 0],
    ['a line cut short after a good one', `${good}{"seq":5,"targ`, 1, 1],
    ['garbage', 'not json\n', 0, 1],
    ['a record that is no target (a port out of range)', `${JSON.stringify({ seq: 6, targets: [{ targetGroupArn: ARN, id: '10.8.0.10', port: 70000 }], addresses: [] })}\n`, 0, 1],
    ['an address that is no IPv4 address', `${JSON.stringify({ seq: 7, targets: [], addresses: ['tun0'] })}\n`, 0, 1],
    ['a number that is none', `${JSON.stringify({ seq: 0, targets: [], addresses: [] })}\n`, 0, 1],
  ])('%s', (_name, text, entries, skipped) => {
    const parsed = parseJournalText(text);
    expect(parsed.entries).toHaveLength(entries);
    expect(parsed.skipped).toBe(skipped);
  });
});
