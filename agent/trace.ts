/**
 * Timestamps along the event path (Docker event, inspect, each step of a pass, the call), for
 * `npm run bench -- --profile`: what the time between an event and its ELB call is spent on.
 * The composition root builds a tracer that appends to the file ECSLB_TRACE_FILE names (one
 * line per step: the step, the wall-clock time in ms to the microsecond, a detail) and hands it
 * to the parts; without it they get NO_TRACE, whose step costs a call. Nothing secret is
 * written: steps, container ids, event times, API actions.
 */
import { appendFileSync } from 'node:fs';

/** Marks the steps of the event path. */
export interface Tracer {
  /** Marks that `name` was reached now. */
  step(name: string, detail?: string): void;
}

/** The tracer that writes nothing. */
export const NO_TRACE: Tracer = { step: () => undefined };

/** A tracer appending to `file`; NO_TRACE when no file is named. */
export function fileTracer(file: string | undefined): Tracer {
  if (file === undefined || file === '') return NO_TRACE;
  return { step: (name, detail = '') => appendFileSync(file, `${name} ${(performance.timeOrigin + performance.now()).toFixed(3)} ${detail}\n`) };
}
