/** What /proc says about a process: resident memory and CPU time. Linux only. */
import { readFileSync } from 'node:fs';
import { round1 } from './stats.ts';

function statusMiB(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return round1(Number(match[1]) / 1024);
}

/** Resident memory of `pid` now (VmRSS), in MiB (one decimal). */
export function rssMiB(pid: number): number {
  return statusMiB(pid, 'VmRSS');
}

/** The most `pid` has been resident (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

/**
 * The parts of `pid`'s resident memory (MiB, /proc/<pid>/smaps_rollup): anonymous (heap, stacks:
 * what the process itself wrote) and file-backed (the executable's and libraries' pages it has
 * mapped, which the kernel can drop and re-read under memory pressure).
 */
export function rssParts(pid: number): { anonymous: number; file: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { anonymous: round1(kib('Anonymous') / 1024), file: round1((kib('Rss') - kib('Anonymous')) / 1024) };
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux architecture). */
const USER_HZ = 100;

/** User + system CPU seconds `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}
