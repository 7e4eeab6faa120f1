/**
 * What identifies this host across restarts and reinstalls of the agent: systemd's
 * /etc/machine-id (written once at the first boot), else the host name. The agent hashes it
 * to pick its zone in target groups that refuse `AvailabilityZone: all`, so a fleet spreads
 * over the zones and each host stays in its own.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

/** The host's id; never throws. */
export async function readHostId(path = '/etc/machine-id'): Promise<string> {
  const text = await readFile(path, 'utf8').then((t) => t.trim(), () => '');
  return /^[0-9a-f]{32}$/i.test(text) ? text : hostname();
}
