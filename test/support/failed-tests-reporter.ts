// A vitest reporter that ends the run's output with the names of the failed tests, one line
// each, so that the last lines of a failed `.ci/run` say what failed: the default reporter's
// failure blocks (each with its agent output and stack) push the names out of a short tail.
// With ECSLB_TEST_FAILURES_FILE set, the same lines are written there too (.ci/run prints that
// file again as its last words).
import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule, TestSuite } from 'vitest/node';

/** One thing that failed: a test, a hook or collection of a file, or an error outside any test. */
export interface Failure {
  /** The test file relative to the project (empty for an error outside any file). */
  file: string;
  /** The test's full name ("suite > test"), or what failed instead of a test. */
  name: string;
  /** The error's message; only its first line is shown. */
  message: string;
}

/** The longest list printed; past it, a count of the rest. */
export const MAX_LISTED = 10;
/** Characters of an error's first line kept. */
export const MESSAGE_CHARS = 160;

function firstLine(message: string): string {
  const line = message.trim().split('\n', 1)[0] ?? '';
  return line.length > MESSAGE_CHARS ? `${line.slice(0, MESSAGE_CHARS - 3)}...` : line;
}

/** The summary's lines: nothing when nothing failed. */
export function formatFailures(failures: readonly Failure[]): string[] {
  if (failures.length === 0) return [];
  const lines = [`FAILED (${failures.length}):`];
  for (const failure of failures.slice(0, MAX_LISTED)) {
    const where = failure.file ? `${failure.file} > ` : '';
    lines.push(`  x ${where}${failure.name}`, `      ${firstLine(failure.message)}`);
  }
  if (failures.length > MAX_LISTED) lines.push(`  ... and ${failures.length - MAX_LISTED} more (see above)`);
  return lines;
}

function messageOf(errors: readonly { message?: string; name?: string }[] | undefined): string {
  const error = errors?.[0];
  return error ? (error.message ?? error.name ?? 'error') : 'no error recorded';
}

function suiteFailures(file: string, suite: TestModule | TestSuite): Failure[] {
  const failures: Failure[] = [];
  // Hook (beforeAll/afterAll) and collection errors sit on the suite or module, not on a test.
  const errors = suite.errors();
  if (errors.length > 0) {
    const what = suite.type === 'module' ? 'file (collection or hooks)' : `${suite.fullName} (hooks)`;
    failures.push({ file, name: what, message: messageOf(errors) });
  }
  for (const child of suite.children) {
    if (child.type === 'suite') failures.push(...suiteFailures(file, child));
    else if (child.result().state === 'failed') failures.push({ file, name: child.fullName, message: messageOf(child.result().errors) });
  }
  return failures;
}

/** Collects every failure of a finished run, in file order. */
export function collectFailures(modules: readonly TestModule[], unhandled: readonly { message?: string; name?: string }[]): Failure[] {
  const failures = modules.flatMap((module) => suiteFailures(module.relativeModuleId, module));
  for (const error of unhandled) failures.push({ file: '', name: 'unhandled error', message: messageOf([error]) });
  return failures;
}

/** See the file comment. */
export default class FailedTestsReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<{ message?: string; name?: string }>): void {
    const lines = formatFailures(collectFailures(modules, unhandled));
    const file = process.env.ECSLB_TEST_FAILURES_FILE;
    if (file) writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
    if (lines.length > 0) console.log(`\n${lines.join('\n')}`);
  }
}
