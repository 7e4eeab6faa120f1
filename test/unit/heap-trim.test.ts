// The heap trim after a busy spell: when it collects (a table over fake time and a scripted heap
// size), and that V8's last-resort collection, run by a real `node --expose-gc`, gives pages back.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeapTrim, lastResortCollector } from '../../agent/host/heap-trim.ts';
import { REPO_ROOT } from '../support/agent-process.ts';

const MiB = 1024 * 1024;

/** A step: `activity` (a pass ran), `wait` ms of fake time, or `heap` MiB resident from now on. */
type Step = { activity: true } | { wait: number } | { heap: number };

describe('HeapTrim', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const cases: Array<{ name: string; steps: Step[]; collections: number }> = [
    { name: 'no pass ever ran: nothing to trim', steps: [{ heap: 20 }, { wait: 60_000 }], collections: 0 },
    { name: 'first quiet spell after start-up trims what loading left', steps: [{ heap: 12 }, { activity: true }, { wait: 5_000 }], collections: 1 },
    { name: 'not quiet long enough yet', steps: [{ heap: 12 }, { activity: true }, { wait: 4_999 }], collections: 0 },
    { name: 'passes within the quiet time keep postponing it', steps: [{ heap: 12 }, { activity: true }, { wait: 4_000 }, { activity: true }, { wait: 4_000 }, { activity: true }, { wait: 4_000 }], collections: 0 },
    { name: 'one trim per quiet spell, however long', steps: [{ heap: 12 }, { activity: true }, { wait: 600_000 }], collections: 1 },
    { name: 'a later pass that grew the heap by less than 1 MiB: no second trim', steps: [{ heap: 12 }, { activity: true }, { wait: 5_000 }, { heap: 10.9 }, { activity: true }, { wait: 5_000 }], collections: 1 },
    { name: 'a later busy spell that grew the heap by 1 MiB or more: trimmed again', steps: [{ heap: 12 }, { activity: true }, { wait: 5_000 }, { heap: 11 }, { activity: true }, { wait: 5_000 }], collections: 2 },
    { name: 'periodic passes an hour apart on a steady heap: one trim only', steps: [{ heap: 12 }, ...Array.from({ length: 60 }, (): Step[] => [{ activity: true }, { wait: 60_000 }]).flat()], collections: 1 },
  ];

  it.each(cases)('$name', async ({ steps, collections }) => {
    let heap = 0;
    let collected = 0;
    const trims: number[] = [];
    // The collection gives back 2 MiB (12 MiB trimmed leaves 10).
    const trim = new HeapTrim({ residentBytes: () => heap, collect: () => ((collected++), (heap -= 2 * MiB)), onTrim: (t) => trims.push(t.beforeBytes - t.afterBytes) });
    for (const step of steps) {
      if ('activity' in step) trim.activity();
      else if ('wait' in step) await vi.advanceTimersByTimeAsync(step.wait);
      else heap = step.heap * MiB;
    }
    expect(collected).toBe(collections);
    expect(trims).toEqual(Array(collections).fill(2 * MiB));
    trim.stop();
  });

  it('stop() cancels a pending trim', async () => {
    let collected = 0;
    const trim = new HeapTrim({ residentBytes: () => 20 * MiB, collect: () => void collected++ });
    trim.activity();
    trim.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(collected).toBe(0);
  });
});

describe('lastResortCollector', () => {
  it('is undefined without --expose-gc (this test process has none)', () => {
    expect(lastResortCollector()).toBeUndefined();
  });

  it('gives the heap pages of dropped objects back to the OS, in a real node --expose-gc', () => {
    // 40 MiB or so of short-lived objects, dropped; then one quiet spell's trim with the real collector.
    const script = `
      import { HeapTrim, lastResortCollector } from ${JSON.stringify(join(REPO_ROOT, 'agent', 'host', 'heap-trim.ts'))};
      import { getHeapStatistics } from 'node:v8';
      let junk = []; for (let i = 0; i < 400000; i++) junk.push({ i, s: 'x' + i }); junk = undefined;
      const trim = new HeapTrim({ collect: lastResortCollector(), quietMs: 10, onTrim: (t) => console.log(JSON.stringify({ ...t, heap: getHeapStatistics().total_physical_size })) });
      trim.activity();
      setTimeout(() => {}, 100);
    `;
    const run = spawnSync(process.execPath, ['--expose-gc', '--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    const t = JSON.parse(run.stdout.trim()) as { beforeBytes: number; afterBytes: number; heap: number };
    expect(t.beforeBytes - t.afterBytes).toBeGreaterThan(20 * MiB);
    expect(t.heap).toBeLessThan(10 * MiB);
  });
});
