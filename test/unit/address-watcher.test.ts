// The address watcher with a real child process standing in for `ip monitor` (a shell that
// prints lines when told): a line makes it ask the address source again and report a change
// once; a monitor that dies is restarted; a missing `ip` leaves the poll, with one warning.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressChoice } from '../../agent/core/address.ts';
import { AddressWatcher, type AddressWatcherOptions } from '../../agent/host/address-watcher.ts';
import type { Log } from '../../agent/log.ts';
import { waitFor } from '../support/wait.ts';

type Line = { level: string; message: string };
function memoryLog(lines: Line[] = []): Log & { lines: Line[] } {
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => memoryLog(lines) };
}

const dirs: string[] = [];
const watchers: AddressWatcher[] = [];
afterEach(() => {
  watchers.splice(0).forEach((w) => w.stop());
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** A monitor script that prints a line whenever the file `poke` appears (then removes it); exits when `die` appears. */
function fakeMonitor(): { command: string[]; poke(): void; kill(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'addr-watch-'));
  dirs.push(dir);
  const script = `while :; do if [ -e ${dir}/poke ]; then rm -f ${dir}/poke; echo "2: vpn0 inet 10.77.0.20/24"; fi; if [ -e ${dir}/die ]; then rm -f ${dir}/die; exit 3; fi; sleep 0.01; done`;
  return { command: ['sh', '-c', script], poke: () => writeFileSync(join(dir, 'poke'), ''), kill: () => writeFileSync(join(dir, 'die'), '') };
}

function watcher(current: () => AddressChoice, o: Partial<AddressWatcherOptions> = {}) {
  const changes: AddressChoice[] = [];
  const log = memoryLog();
  const w = new AddressWatcher({ addresses: { current: async () => current() }, pollIntervalMs: 60_000, log, onChange: (c) => changes.push(c), ...o });
  watchers.push(w);
  return { w, changes, log };
}

describe('AddressWatcher', () => {
  it('asks again on a monitor line and reports the change once, long before the poll', async () => {
    let address = '10.77.0.10';
    let asked = 0;
    const monitor = fakeMonitor();
    const { w, changes } = watcher(() => (asked++, { address, interface: 'vpn0' }), { monitor: monitor.command });
    await w.start();
    await waitFor(() => w.monitoring, { description: 'monitor running', timeoutMs: 2_000 });
    address = '10.77.0.20';
    // "Long before the poll" (60 s here): only the monitor line can explain a report within half of it.
    monitor.poke();
    await waitFor(() => changes.length === 1, { description: 'change reported', timeoutMs: 30_000, intervalMs: 5 });
    expect(changes).toEqual([{ address: '10.77.0.20', interface: 'vpn0' }]);
    // A line without a change reports nothing: once the watcher has asked again (a positive event, not a pause).
    const before = asked;
    monitor.poke();
    await waitFor(() => asked > before, { description: 'asked again after the second line', timeoutMs: 30_000, intervalMs: 5 });
    await new Promise((r) => setImmediate(r));
    expect(changes).toHaveLength(1);
  });

  it('restarts a monitor that dies, and keeps reporting through the new one', async () => {
    let address = '10.77.0.10';
    const monitor = fakeMonitor();
    const { w, changes, log } = watcher(() => ({ address }), { monitor: monitor.command });
    await w.start();
    await waitFor(() => w.monitoring, { description: 'monitor running', timeoutMs: 2_000 });
    monitor.kill();
    await waitFor(() => !w.monitoring, { description: 'monitor gone', timeoutMs: 2_000 });
    expect(log.lines.find((l) => l.level === 'warn')?.message).toContain('exited with status 3');
    await waitFor(() => w.monitoring, { description: 'monitor restarted', timeoutMs: 5_000 });
    address = '10.77.0.30';
    monitor.poke();
    await waitFor(() => changes.length === 1, { description: 'change through the restarted monitor', timeoutMs: 2_000, intervalMs: 5 });
    expect(changes[0]?.address).toBe('10.77.0.30');
  });

  it('without the monitor command: one warning naming it, and the poll still notices changes', async () => {
    let address = '10.77.0.10';
    const { w, changes, log } = watcher(() => (address === '' ? { problem: 'interface vpn0 is down or has no IPv4 address' } : { address }), { monitor: ['/nonexistent/ip', '-o', 'monitor'], pollIntervalMs: 50 });
    await w.start();
    await waitFor(() => log.lines.some((l) => l.level === 'warn'), { description: 'warning', timeoutMs: 2_000 });
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([expect.stringContaining('/nonexistent/ip')]);
    address = '';
    await waitFor(() => changes.length === 1, { description: 'loss noticed by the poll', timeoutMs: 2_000 });
    expect(changes[0]?.problem).toContain('vpn0');
  });
});
