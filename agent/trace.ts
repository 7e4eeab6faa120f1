/**
 * Timestamps along the event path (Docker event, inspect, each step of a pass, the call), for
 * `npm run bench -- --profile`: what the time between an event and its ELB call is spent on.
 * Off unless ECSLB_TRACE_FILE names a file when the process starts; then each step appends a
 * line: the step, the wall-clock time in ms (to the microsecond), a detail. Off, a step costs
 * one comparison. Nothing secret is written: steps, container ids, event times, API actions.
 */
import { appendFileSync } from 'node:fs';

const file = process.env.ECSLB_TRACE_FILE;

/** Notes that `step` was reached now. */
export function trace(step: string, detail = ''): void {
  if (file === undefined || file === '') return;
  appendFileSync(file, `${step} ${(performance.timeOrigin + performance.now()).toFixed(3)} ${detail}\n`);
}
