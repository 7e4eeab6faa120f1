// Noticing a changed file by polling, in a real temporary directory: an edit in place, a
// replacement by rename (as editors save), a removal and a reappearance each call back once.
import { link, mkdtemp, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchFileChanges } from '../../agent/host/file-change.ts';
import { sleep, waitFor } from '../support/wait.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lb-agent-watch-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('watchFileChanges', () => {
  it('calls back after each change, and not while nothing changes', async () => {
    const path = join(dir, 'mapping.json');
    await writeFile(path, '{"mappings":[]}');
    let changes = 0;
    const watch = watchFileChanges(path, () => changes++, 10);
    try {
      await sleep(60);
      expect(changes).toBe(0);
      const steps: [string, () => Promise<void>][] = [
        // Each step changes the file in one system call: writeFile truncates, then writes, and a
        // poll between the two rightly sees two changes (an empty file, then the new one).
        ['edited in place', async () => {
          const file = await open(path, 'r+');
          try {
            await file.write('{"mappings":[0]}', 0);
          } finally {
            await file.close();
          }
        }],
        ['replaced by rename', async () => {
          await writeFile(`${path}.new`, '{"mappings":[1]}');
          await rename(`${path}.new`, path);
        }],
        ['removed', () => unlink(path)],
        ['back', async () => {
          await writeFile(`${path}.back`, '{}');
          await link(`${path}.back`, path);
        }],
      ];
      for (const [i, [what, step]] of steps.entries()) {
        await step();
        await waitFor(() => changes === i + 1, { description: `change noticed: ${what}`, timeoutMs: 5000, intervalMs: 5 });
      }
      await sleep(60);
      expect(changes).toBe(steps.length);
    } finally {
      watch.stop();
    }
  });
});
