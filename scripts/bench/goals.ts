/** Issues 11's and 22's goals, as the bench checks them (reported in the JSON, never a failure: timings are noisy here). */
export const GOALS = {
  /** Agent p50 and p99 over the probe's, each direction, at every stopped-container level. */
  latency: { p50: 1.5, p99: 2 },
  /** Time to the last burst call over Docker's own time to start (stop) the burst. */
  burstRatio: 1.2,
  /** Kill -> DeregisterTargets of the lone, chain and task stop patterns, agent over probe (issue 22). */
  stopPatterns: { p50: 1.5, p99: 2 },
  /** Resident MiB of the x64 executable, idle with 20 containers. */
  idleRssMiB: 60,
} as const;
