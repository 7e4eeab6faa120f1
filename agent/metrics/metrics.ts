/**
 * The agent's counters and gauges, rendered as Prometheus text. Plain data: the parts
 * report into it; the metrics server reads it.
 */

type Labels = Record<string, string>;

/** A gated container that has not asked for this long (it stopped) no longer counts as waiting. */
export const GATE_WAIT_FORGOTTEN_MS = 60_000;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (labels: Labels) => {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
};

/** What a completed reconcile pass tells the metrics (the reconciler's PassResult has these). */
export interface PassFigures {
  readonly registered: number;
  readonly deregistered: number;
  readonly ownedTargets: number;
  readonly heldForState?: number;
  readonly address?: string;
  readonly settled: boolean;
  /** The changes the pass's policies hold for now, each with its reason. */
  readonly held?: readonly { readonly why: string }[];
}

/** Counters and gauges of one agent process: changed through its named methods, read by the metrics server. */
export class Metrics {
  private readonly counters = new Map<string, Map<string, { labels: Labels; value: number }>>();
  registrations = 0;
  deregistrations = 0;
  reconcileCount = 0;
  reconcileFailures = 0;
  reconcileSecondsSum = 0;
  ownedTargets = 0;
  lastSuccessfulReconcile = 0;
  address: string | undefined;
  /** Last time Docker answered (ms since the epoch); 0 = never. */
  lastDockerOk = 0;
  /** When the ELB API stopped answering: the first unusable answer since the last usable one; 0 = it answers. */
  elbFailingSince = 0;
  private paceRates: Record<string, number> = {};
  private driftRepairIntervalMs = 0;
  private drainSecondsSum = 0;
  private drainCount = 0;
  private drainSecondsMax = 0;
  private stateWriteFailures = 0;
  private stateWriteFailing = false;
  /** Registrations the last pass held back because their records could not be written first. */
  registrationsHeld = 0;
  /** Changes the last pass's policies held for now, by reason. */
  private changesHeld = new Map<string, number>();
  private gateAnswers = { ready: 0, waiting: 0 };
  /** Gated containers answered "waiting": since when, and when they last asked. */
  private gateWaits = new Map<string, { since: number; asked: number }>();

  /**
   * Records one ELBv2 API request. `reachable` says whether the API gave a usable answer
   * (even an error like InvalidTarget or AccessDenied); the ELB adapter judges that
   * (`isReachable` in elb/elbv2-registry.ts).
   */
  apiCall(action: string, errorCode: string | undefined, reachable: boolean, now = Date.now()): void {
    this.count('ecs_anywhere_lb_api_calls_total', { action });
    if (errorCode !== undefined) this.count('ecs_anywhere_lb_api_errors_total', { action, code: errorCode });
    if (reachable) {
      this.elbFailingSince = 0;
    } else if (this.elbFailingSince === 0) {
      this.elbFailingSince = now;
    }
  }

  /** A reconcile pass ended, after `ms`: its figures, and (a listing worked) Docker answered. */
  passCompleted(pass: PassFigures, ms: number, now = Date.now()): void {
    this.reconcileCount++;
    this.reconcileSecondsSum += ms / 1000;
    this.lastDockerOk = now;
    this.registrations += pass.registered;
    this.deregistrations += pass.deregistered;
    this.ownedTargets = pass.ownedTargets;
    this.registrationsHeld = pass.heldForState ?? 0;
    this.address = pass.address;
    this.changesHeld = new Map();
    for (const h of pass.held ?? []) this.changesHeld.set(h.why, (this.changesHeld.get(h.why) ?? 0) + 1);
    if (pass.settled) this.lastSuccessfulReconcile = now;
  }

  /** A reconcile pass failed as a whole, after `ms`. */
  passFailed(ms: number): void {
    this.reconcileCount++;
    this.reconcileSecondsSum += ms / 1000;
    this.reconcileFailures++;
  }

  /** Docker answered (the event stream connected). */
  dockerAnswered(now = Date.now()): void {
    this.lastDockerOk = now;
  }

  /** A call of this API class was throttled (the account's budget was spent); the pace slowed down. */
  apiThrottled(apiClass: string): void {
    this.count('ecs_anywhere_lb_api_throttled_total', { class: apiClass });
  }

  /** A target this host deregistered was seen gone from its group this long after the call (an upper bound). */
  drained(ms: number): void {
    this.drainSecondsSum += ms / 1000;
    this.drainCount++;
    this.drainSecondsMax = Math.max(this.drainSecondsMax, ms / 1000);
  }

  /** One attempt to write the state file, and whether it worked. */
  stateWrite(ok: boolean): void {
    if (!ok) this.stateWriteFailures++;
    this.stateWriteFailing = !ok;
  }

  /** The pace this host allows itself per API class (calls/s), and how often it re-reads each group. */
  paceAndReads(rates: Readonly<Record<string, number>>, driftRepairIntervalMs: number | undefined): void {
    this.paceRates = { ...rates };
    if (driftRepairIntervalMs !== undefined) this.driftRepairIntervalMs = driftRepairIntervalMs;
  }

  /**
   * The readiness gate answered a container's health check: ready (200) or still waiting (503).
   * A container that stops asking (it stopped, or its gate opened) leaves the longest wait.
   */
  gateAnswer(containerId: string | undefined, ready: boolean, now = Date.now()): void {
    this.gateAnswers[ready ? 'ready' : 'waiting']++;
    if (containerId === undefined) return;
    if (ready) {
      this.gateWaits.delete(containerId);
      return;
    }
    this.gateWaits.set(containerId, { since: this.gateWaits.get(containerId)?.since ?? now, asked: now });
  }

  /** Seconds the longest-waiting gated container, still asking, has been answered "waiting". */
  gateLongestWaitSeconds(now = Date.now()): number {
    let longest = 0;
    for (const [id, w] of this.gateWaits) {
      if (now - w.asked > GATE_WAIT_FORGOTTEN_MS) this.gateWaits.delete(id);
      else longest = Math.max(longest, (now - w.since) / 1000);
    }
    return longest;
  }

  private count(name: string, labels: Labels): void {
    const series = this.counters.get(name) ?? new Map();
    this.counters.set(name, series);
    const key = labelText(labels);
    const entry = series.get(key) ?? { labels, value: 0 };
    entry.value++;
    series.set(key, entry);
  }

  /** Prometheus text exposition format. */
  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [Labels, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labelText(labels)} ${value}`);
    };
    metric('ecs_anywhere_lb_registrations_total', 'counter', 'Targets registered by this agent.', [[{}, this.registrations]]);
    metric('ecs_anywhere_lb_deregistrations_total', 'counter', 'Targets deregistered by this agent.', [[{}, this.deregistrations]]);
    const calls = this.counters.get('ecs_anywhere_lb_api_calls_total');
    metric('ecs_anywhere_lb_api_calls_total', 'counter', 'ELBv2 API calls by action.', [...(calls?.values() ?? [])].map((e) => [e.labels, e.value]));
    const errors = this.counters.get('ecs_anywhere_lb_api_errors_total');
    metric('ecs_anywhere_lb_api_errors_total', 'counter', 'ELBv2 API errors by action and code.', [...(errors?.values() ?? [])].map((e) => [e.labels, e.value]));
    const throttled = this.counters.get('ecs_anywhere_lb_api_throttled_total');
    metric('ecs_anywhere_lb_api_throttled_total', 'counter', 'ELBv2 API calls throttled by the account\'s budget, by API class.', [...(throttled?.values() ?? [])].map((e) => [e.labels, e.value]));
    metric('ecs_anywhere_lb_api_pace_per_second', 'gauge', 'Calls per second this host allows itself, by API class (AIMD: halved when throttled, down to its fleet share).', Object.entries(this.paceRates).map(([c, v]) => [{ class: c }, v]));
    metric('ecs_anywhere_lb_drift_repair_interval_seconds', 'gauge', 'How often each target group is re-read to repair drift (sized by --fleet-size).', [[{}, this.driftRepairIntervalMs / 1000]]);
    metric('ecs_anywhere_lb_drain_seconds', 'summary', 'Time from DeregisterTargets to the target seen gone from its group (an upper bound: seen at the next read).', []);
    lines.push(`ecs_anywhere_lb_drain_seconds_sum ${this.drainSecondsSum}`, `ecs_anywhere_lb_drain_seconds_count ${this.drainCount}`);
    metric('ecs_anywhere_lb_drain_seconds_max', 'gauge', 'The longest drain seen since start (seconds).', [[{}, this.drainSecondsMax]]);
    metric('ecs_anywhere_lb_reconcile_duration_seconds', 'summary', 'Duration of reconcile passes.', []);
    lines.push(`ecs_anywhere_lb_reconcile_duration_seconds_sum ${this.reconcileSecondsSum}`, `ecs_anywhere_lb_reconcile_duration_seconds_count ${this.reconcileCount}`);
    metric('ecs_anywhere_lb_reconcile_failures_total', 'counter', 'Reconcile passes that failed as a whole.', [[{}, this.reconcileFailures]]);
    metric('ecs_anywhere_lb_state_write_failures_total', 'counter', 'Failed attempts to write the state file (a full disk, a read-only directory); retried with backoff.', [[{}, this.stateWriteFailures]]);
    metric('ecs_anywhere_lb_state_write_failing', 'gauge', '1 while the last attempt to write the state file failed: no new target is registered until one succeeds.', [[{}, this.stateWriteFailing ? 1 : 0]]);
    metric('ecs_anywhere_lb_registrations_held', 'gauge', 'Registrations the last pass held back because their records could not be written first.', [[{}, this.registrationsHeld]]);
    metric('ecs_anywhere_lb_changes_held', 'gauge', 'Changes the last pass held for now, by reason (gathering-starts, fleet-wave, refused, make-before-break); a stop is never held.', [...this.changesHeld].map(([reason, n]) => [{ reason }, n]));
    metric('ecs_anywhere_lb_readiness_answers_total', 'counter', 'Answers of the readiness gate to gated containers\' health checks: ready (200) or waiting (503).', [[{ answer: 'ready' }, this.gateAnswers.ready], [{ answer: 'waiting' }, this.gateAnswers.waiting]]);
    metric('ecs_anywhere_lb_readiness_longest_wait_seconds', 'gauge', 'How long the longest-waiting gated container (still asking) has been answered waiting.', [[{}, this.gateLongestWaitSeconds()]]);
    metric('ecs_anywhere_lb_owned_targets', 'gauge', 'Targets this host owns across all target groups.', [[{}, this.ownedTargets]]);
    metric('ecs_anywhere_lb_last_successful_reconcile_timestamp_seconds', 'gauge', 'Unix time of the last reconcile pass that completed.', [[{}, this.lastSuccessfulReconcile / 1000]]);
    metric('ecs_anywhere_lb_host_address_info', 'gauge', 'The address this host registers (1 while one is usable).', this.address !== undefined ? [[{ address: this.address }, 1]] : []);
    return `${lines.join('\n')}\n`;
  }
}
