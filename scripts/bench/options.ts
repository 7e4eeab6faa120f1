/** The bench's command line: `npm run bench -- [--quick] [--json FILE] [--plot FILE|--no-plot] [--executable PATH|bundle] [--profile]`. */
import { parseArgs } from 'node:util';

/** How much of each measurement a run does. */
export interface Sizes {
  /** Start and kill events per direction with no stopped containers (in rounds of `running`). */
  readonly events: number;
  /** Containers running at once in the one-at-a-time rounds (the idle RSS is read with this many). */
  readonly running: number;
  /** Stopped containers lying around for the flatness rounds, and events per direction at each. */
  readonly stoppedLevels: readonly number[];
  readonly eventsPerStoppedLevel: number;
  /** Containers of the burst, across `groups` target groups. */
  readonly burst: number;
  readonly groups: number;
  /** Containers running at the second start-up measurement. */
  readonly startupContainers: number;
  /**
   * Container starts and stops between the two idle RSS readings of the growth check (the first
   * round's and a last one's, `running` containers up each time): a churn phase tops the bench's
   * own starts up to this many (at least `minChurn`, `churnParallel` at a time).
   */
  readonly growthStarts: number;
  readonly minChurn: number;
  readonly churnParallel: number;
  /** Seconds of idling for the CPU figure. */
  readonly idleSeconds: number;
  /** Stops in the chain pattern (each kill right after the previous DeregisterTargets went out). */
  readonly chain: number;
  /** A task's containers stopped together, and how many such tasks in a row. */
  readonly taskContainers: number;
  readonly taskRounds: number;
}

export const FULL: Sizes = { events: 200, running: 20, stoppedLevels: [0, 100, 300], eventsPerStoppedLevel: 100, burst: 100, groups: 3, startupContainers: 200, growthStarts: 1000, minChurn: 40, churnParallel: 8, idleSeconds: 60, chain: 20, taskContainers: 3, taskRounds: 10 };
/** CI's smoke run: every path once, small. */
export const QUICK: Sizes = { events: 40, running: 20, stoppedLevels: [0, 20], eventsPerStoppedLevel: 10, burst: 24, groups: 3, startupContainers: 24, growthStarts: 100, minChurn: 10, churnParallel: 8, idleSeconds: 5, chain: 10, taskContainers: 3, taskRounds: 2 };

export interface BenchOptions {
  readonly quick: boolean;
  readonly sizes: Sizes;
  readonly json?: string;
  /** PNG of the latency distributions; undefined = none. */
  readonly plot?: string;
  /** The agent executable to measure, or 'bundle' for `node dist/ecs-anywhere-lb-agent.cjs`; undefined = the built x64 executable if any. */
  readonly executable?: string;
  /** Extra Node/V8 flags for the agent (bundle only), to compare their costs. */
  readonly nodeFlags: readonly string[];
  /** Trace the agent's event path (ECSLB_TRACE_FILE) and report where its time goes; the tracing itself adds a little to each event. */
  readonly profile: boolean;
}

export const DEFAULT_PLOT = 'docs/bench-latency.png';

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      plot: { type: 'string' },
      'no-plot': { type: 'boolean', default: false },
      executable: { type: 'string' },
      'node-flag': { type: 'string', multiple: true, default: [] },
      profile: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  if (values['node-flag']?.length && values.executable !== 'bundle') throw new Error('--node-flag needs --executable bundle (the executable has its flags built in)');
  // A quick run draws no plot unless asked: CI must not rewrite docs/.
  const plot = values['no-plot'] ? undefined : (values.plot ?? (quick ? undefined : DEFAULT_PLOT));
  return {
    quick,
    sizes: quick ? QUICK : FULL,
    ...(values.json !== undefined ? { json: values.json } : {}),
    ...(plot !== undefined ? { plot } : {}),
    ...(values.executable !== undefined ? { executable: values.executable } : {}),
    nodeFlags: values['node-flag'] ?? [],
    profile: values.profile ?? false,
  };
}
