/** Whether the host is shutting down, as systemd tells it (`systemctl is-system-running` says "stopping"). */
import { execFile } from 'node:child_process';

/** Asks systemd; false when systemd or systemctl is not there. */
export function isHostStopping(systemctl = 'systemctl'): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(systemctl, ['is-system-running'], { timeout: 3000 }, (_err, stdout) => {
      // is-system-running exits non-zero for any state but "running"; the text is what counts.
      resolve(String(stdout ?? '').trim() === 'stopping');
    });
  });
}
