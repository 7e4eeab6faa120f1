// Issue 22: the files a kill enters from the Docker event to the DeregisterTargets call, measured
// (scripts/bench/kill-walk.ts: inspector breakpoints on every statement of agent/) in a process of
// its own, so that the inspector sees only the agent built there. No Docker: a fake engine.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KillWalk } from '../../scripts/bench/kill-walk.ts';

let walk: KillWalk;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kill-walk-test-'));
  try {
    const file = join(dir, 'walk.json');
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/bench/kill-walk.ts', '--json', file], { timeout: 90_000 });
    walk = JSON.parse(readFileSync(file, 'utf8')) as KillWalk;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

describe('the kill walk (issue 22)', () => {
  it('goes from the event watcher through the view\'s events, the loop and the reconciler to the paced registry', () => {
    expect(walk.visits.slice(0, 5)).toEqual([
      'agent/docker/event-watcher.ts', 'agent/docker/container-watch.ts', 'agent/docker/stop-signals.ts',
      'agent/reconcile/loop.ts', 'agent/reconcile/reconciler.ts',
    ]);
    // The event writes the view, the pass reads it: the source's file is entered once, by the pass.
    expect(walk.visits.filter((v) => v === 'agent/docker/docker-source.ts')).toHaveLength(1);
    expect(walk.visits).toContain('agent/reconcile/target-writer.ts');
    expect(walk.visits.filter((v) => v === 'agent/fleet/paced-registry.ts')).toHaveLength(1);
  });

  it('visits no agent/ file twice: each collaborator is asked once, nothing comes back through run.ts', () => {
    expect(walk.revisited).toEqual({});
    expect(walk.revisits).toBe(0);
    expect(new Set(walk.visits).size).toBe(walk.visits.length);
  });
});
