/**
 * Noticing that a file changed, by polling its identity (inode, size, modification time):
 * editors replace a file (write a copy, rename it over), which file-system watches lose track
 * of; a poll sees the new file, or its absence, within one interval.
 */
import { stat } from 'node:fs/promises';

/** How often a watched file is looked at. */
export const FILE_CHECK_INTERVAL_MS = 2000;

/** Calls `onChange` after each change of the file at `path` (also when it appears or goes away). */
export function watchFileChanges(path: string, onChange: () => void, intervalMs = FILE_CHECK_INTERVAL_MS): { stop(): void } {
  const identity = () => stat(path).then((s) => `${s.ino}:${s.size}:${s.mtimeMs}`, (err: NodeJS.ErrnoException) => `missing:${err.code ?? ''}`);
  let last: string | undefined;
  let busy = false;
  void identity().then((id) => (last ??= id));
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void identity()
      .then((id) => {
        if (last !== undefined && id !== last) onChange();
        last = id;
      })
      .finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
