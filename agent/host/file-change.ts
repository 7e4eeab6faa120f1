/**
 * Noticing that a file changed, by polling its identity (inode, size, modification time):
 * editors replace a file (write a copy, rename it over), which file-system watches lose track
 * of; a poll sees the new file, or its absence, within one interval.
 */
import { statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';

/** How often a watched file is looked at. */
export const FILE_CHECK_INTERVAL_MS = 2000;

/** Calls `onChange` after each change of the file at `path` (also when it appears or goes away). */
export function watchFileChanges(path: string, onChange: () => void, intervalMs = FILE_CHECK_INTERVAL_MS): { stop(): void } {
  const of = (s: Stats) => `${s.ino}:${s.size}:${s.mtimeMs}`;
  const missing = (err: unknown) => `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
  const identity = () => stat(path).then(of, missing);
  // The baseline is taken now, synchronously: a change right after the call is a change.
  let last: string;
  try {
    last = of(statSync(path));
  } catch (err) {
    last = missing(err);
  }
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void identity()
      .then((id) => {
        if (id !== last) onChange();
        last = id;
      })
      .finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
