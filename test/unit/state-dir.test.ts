// The state directory is the agent's alone (start-up refuses one that others may write), and its
// temp files are always new files: a link planted at a temp file's name is never written through.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStateDir } from '../../agent/state/state-dir.ts';
import { replaceFile } from '../../agent/state/state-store.ts';

const root = mkdtempSync(join(tmpdir(), 'ecslb-state-dir-'));
const uid = process.getuid?.() ?? 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dir(name: string, mode: number): string {
  const path = join(root, name);
  mkdirSync(path);
  chmodSync(path, mode);
  return path;
}

describe('checkStateDir', () => {
  it.each([['0700', 0o700], ['0755', 0o755], ['0750', 0o750]])('accepts a directory of the agent\'s user with mode %s', async (name, mode) => {
    await expect(checkStateDir(dir(`ok-${name}`, mode), uid)).resolves.toBeUndefined();
  });

  it('accepts a directory that does not exist yet (the store creates it 0700)', async () => {
    await expect(checkStateDir(join(root, 'not-yet'), uid)).resolves.toBeUndefined();
  });

  it.each([
    ['group-writable', () => dir('g', 0o770), /writable by its group \(mode 0770\): chmod go-w/],
    ['world-writable', () => dir('o', 0o707), /writable by others \(mode 0707\): chmod go-w/],
    ['world-writable with the sticky bit, like /tmp', () => dir('t', 0o1777), /writable by its group \(mode 0777\)/],
    ['owned by another user', () => dir('other', 0o700), /owned by uid [0-9]+, not by the agent's user \(uid 4242\)/, 4242],
    ['a symbolic link', () => { symlinkSync(dir('target', 0o700), join(root, 'link')); return join(root, 'link'); }, /is a symbolic link/],
    ['a file', () => { writeFileSync(join(root, 'file'), ''); return join(root, 'file'); }, /is not a directory/],
  ])('refuses one that is %s, naming the option', async (_case, make, message, asUid = uid) => {
    const err = await checkStateDir(make(), asUid).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^invalid --state-dir \(ECS_ANYWHERE_LB_STATE_DIR\): /);
    expect(err?.message).toMatch(message);
  });
});

describe('temp files are new files (O_EXCL|O_NOFOLLOW)', () => {
  it('a symbolic link planted at the temp name is not followed: the write fails and the link\'s target is untouched', async () => {
    const d = dir('planted', 0o700);
    const victim = join(root, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(d, 'state.json.1.1.tmp'));
    await expect(replaceFile(d, 'state.json', '{"owned":[]}\n', 'state.json.1.1.tmp')).rejects.toThrow(/EEXIST/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('an existing file at the temp name is not overwritten in place', async () => {
    const d = dir('existing', 0o700);
    writeFileSync(join(d, 'state.json.1.2.tmp'), 'someone else\'s\n');
    await expect(replaceFile(d, 'state.json', '{}\n', 'state.json.1.2.tmp')).rejects.toThrow(/EEXIST/);
  });
});
