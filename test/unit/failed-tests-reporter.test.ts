// The failed-tests reporter: its lines as a table, and a real vitest run of a failing file
// whose output ends with the failures' names (what the tail of a failed `.ci/run` shows).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFailures, MAX_LISTED, MESSAGE_CHARS, type Failure } from '../support/failed-tests-reporter.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const failure = (n: number, message = `boom ${n}`): Failure => ({ file: 'test/x.test.ts', name: `suite > case ${n}`, message });

describe('formatFailures', () => {
  it.each<[string, Failure[], string[]]>([
    ['nothing failed', [], []],
    ['one test', [failure(1)], ['FAILED (1):', '  x test/x.test.ts > suite > case 1', '      boom 1']],
    ['first line of the message only', [failure(1, '  timed out\n--- agent output ---\nmore')], ['FAILED (1):', '  x test/x.test.ts > suite > case 1', '      timed out']],
    ['an error outside any file', [{ file: '', name: 'unhandled error', message: 'EPIPE' }], ['FAILED (1):', '  x unhandled error', '      EPIPE']],
  ])('%s', (_, failures, expected) => {
    expect(formatFailures(failures)).toEqual(expected);
  });

  it(`lists ${MAX_LISTED} failures, counts the rest, and cuts long messages`, () => {
    const many = Array.from({ length: MAX_LISTED + 3 }, (_, i) => failure(i, 'y'.repeat(MESSAGE_CHARS * 2)));
    const lines = formatFailures(many);
    expect(lines[0]).toBe(`FAILED (${MAX_LISTED + 3}):`);
    expect(lines.at(-1)).toBe('  ... and 3 more (see above)');
    expect(lines).toHaveLength(1 + 2 * MAX_LISTED + 1);
    expect(lines[2]).toHaveLength(6 + MESSAGE_CHARS);
    // A failed .ci/run's tail is 30 lines: the list plus the run's own closing lines must fit.
    expect(lines.length).toBeLessThanOrEqual(24);
  });
});

describe('a vitest run with the reporter', () => {
  it('ends its output with the failed tests and writes them to ECSLB_TEST_FAILURES_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecslb-reporter-'));
    try {
      writeFileSync(
        join(dir, 'sample.test.ts'),
        [
          "describe('outer', () => {",
          "  it('breaks', () => { expect(1).toBe(2); });",
          "  it('holds', () => { expect(1).toBe(1); });",
          '});',
          "describe('set-up', () => {",
          "  beforeAll(() => { throw new Error('hook broke'); });",
          "  it('never runs', () => {});",
          '});',
        ].join('\n'),
      );
      const failuresFile = join(dir, 'failures.txt');
      const run = spawnSync(
        join(REPO_ROOT, 'node_modules', '.bin', 'vitest'),
        ['run', '--root', dir, '--globals', '--reporter', 'default', '--reporter', join(REPO_ROOT, 'test', 'support', 'failed-tests-reporter.ts')],
        { cwd: dir, encoding: 'utf8', env: { ...process.env, ECSLB_TEST_FAILURES_FILE: failuresFile, NO_COLOR: '1' }, timeout: 50_000 },
      );
      expect(run.status, run.stdout + run.stderr).toBe(1);
      const expected = ['FAILED (2):', '  x sample.test.ts > outer > breaks', '      expected 1 to be 2 // Object.is equality', '  x sample.test.ts > set-up (hooks)', '      hook broke'];
      expect(run.stdout.trimEnd().split('\n').slice(-expected.length)).toEqual(expected);
      expect(readFileSync(failuresFile, 'utf8')).toBe(expected.map((line) => `${line}\n`).join(''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
