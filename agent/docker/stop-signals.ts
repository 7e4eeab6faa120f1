/**
 * Which `kill` events mean a container is being stopped: the usual stop signals, or the
 * container's own STOPSIGNAL (e.g. SIGWINCH for httpd, SIGQUIT for nginx), which `docker
 * stop` and ECS send instead of SIGTERM.
 */
import { constants } from 'node:os';

/** Signals after which a container is on its way out (Docker's `kill` event carries the number). */
const STOP_SIGNALS = new Set(['15', 'SIGTERM', 'TERM', '9', 'SIGKILL', 'KILL', '2', 'SIGINT', 'INT', '3', 'SIGQUIT', 'QUIT']);

/** Whether a `kill` event with this signal means the container is being stopped. */
export function isStopSignal(signal: string | undefined): boolean {
  return signal === undefined || STOP_SIGNALS.has(signal.toUpperCase());
}

/** A signal as its number, from "15", "TERM" or "SIGTERM"; undefined when unknown. */
export function signalNumber(signal: string | undefined): number | undefined {
  if (signal === undefined || signal === '') return undefined;
  if (/^[0-9]+$/.test(signal)) return Number(signal);
  const name = signal.toUpperCase();
  return (constants.signals as Record<string, number>)[name.startsWith('SIG') ? name : `SIG${name}`];
}

/** Whether two signal texts (numbers or names) are the same signal. */
export function sameSignal(a: string | undefined, b: string | undefined): boolean {
  const n = signalNumber(a);
  return n !== undefined && n === signalNumber(b);
}
