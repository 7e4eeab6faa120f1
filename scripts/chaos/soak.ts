/**
 * The soak itself: cycles of one fault held with churn under it, then the fault lifted and
 * the groups watched until they hold exactly what the judge says (oracle.ts) or the bound
 * passes; the second host's targets, the request log and the agent's exits are checked all
 * along, its RSS after every cycle. Every violation is printed with the seed, the recent
 * event history and the diff.
 */
import { writeFileSync } from 'node:fs';
import { AgentProcess, ensureAgentBundle } from '../../test/support/agent-process.ts';
import { TEST_RUN_LABEL } from '../../test/support/ecs-container.ts';
import { sleep } from '../../test/support/wait.ts';
import { stream } from '../fleet-sim/random.ts';
import { Churn, CONTAINER_PORT } from './churn.ts';
import { JOURNAL_FILE, STATE_FILE, StateStore } from '../../agent/state/state-store.ts';
import { FAULTS, type FaultContext } from './faults.ts';
import type { ChaosOptions } from './options.ts';
import { desiredTargets, diffTargets, healthFromStatus, isConverged, liveTargets, lostForeign, targetKey, type ListedContainer, type TargetDiff } from './oracle.ts';
import { convergenceFigures, countBy, judgeRss, type ChaosReport, type RssSample } from './report.ts';
import { DEFAULT_ROSTER_LIMITS, nextChurn, planCycle, type FaultKind } from './scenario.ts';
import { AgentSupervisor } from './supervisor.ts';
import { DISALLOWED_GROUP, OTHER_HOST, createChaosWorld } from './world.ts';

/**
 * The agent's cap on its per-group retry backoff (--retry-max-delay default, 30 s). After a
 * fault lifts, a group may wait out one capped backoff before its next call.
 */
export const AGENT_RETRY_CAP_MS = 30_000;
/** The convergence bound: 5 s to notice and act, plus one backoff cap. */
export const CONVERGENCE_BOUND_MS = 5_000 + AGENT_RETRY_CAP_MS;
const POLL_MS = 250;
/** After a missed bound, how long the soak keeps looking (for the record: late, or never). */
const LATE_LOOK_MS = 60_000;
const HISTORY_SHOWN = 40;
/** Exits on its own, in a row, without a finished first pass between them: a crash loop. */
const CRASH_LOOP_EXITS = 3;

/** One line of the event history. */
export interface HistoryEntry {
  readonly atMs: number;
  readonly kind: 'fault' | 'lift' | 'churn' | 'agent' | 'check' | 'violation';
  readonly name: string;
  readonly detail: string;
}

export interface SoakOutcome {
  readonly report: ChaosReport;
  readonly history: readonly HistoryEntry[];
}

/** Runs the soak; `stop` ends it early (Ctrl-C): the final checks still run. */
export async function runSoak(options: ChaosOptions, out: (line: string) => void, stop: AbortSignal): Promise<SoakOutcome> {
  const started = Date.now();
  const now = () => Date.now() - started;
  const history: HistoryEntry[] = [];
  const shown = new Set<string>();
  const violations: string[] = [];
  const convergence: number[] = [];
  /** Convergence times of the quiet periods that began with the groups not yet right (work to do). */
  const repairs: number[] = [];
  const rss: RssSample[] = [];
  const faults: string[] = [];
  const events: string[] = [];
  const note = (kind: HistoryEntry['kind'], name: string, detail: string) => {
    const entry = { atMs: now(), kind, name, detail };
    history.push(entry);
    out(`[chaos ${(entry.atMs / 1000).toFixed(1)}s] ${kind} ${name}: ${detail}`);
  };
  const violation = (message: string, diff?: TargetDiff) => {
    violations.push(message);
    note('violation', 'invariant', message.split('\n')[0] ?? message);
    // Each kind of violation is shown in full once; repeats are one history line each.
    const kind = message.replace(/[0-9]+/g, 'N').slice(0, 60);
    if (shown.has(kind)) return;
    shown.add(kind);
    out(`\n=== VIOLATION (seed ${options.seed}) at ${(now() / 1000).toFixed(1)} s: ${message}`);
    if (diff) out(`    missing:    ${JSON.stringify(diff.missing)}\n    unexpected: ${JSON.stringify(diff.unexpected)}`);
    out(`    last ${HISTORY_SHOWN} events:\n${history.slice(-HISTORY_SHOWN).map((h) => `      ${(h.atMs / 1000).toFixed(1)}s ${h.kind} ${h.name}: ${h.detail}`).join('\n')}\n`);
  };

  const world = await createChaosWorld((line) => out(`[chaos] ${line}`));
  const bundle = ensureAgentBundle();
  const command = world.agentCommand(bundle);
  const agent = new AgentSupervisor(
    () => new AgentProcess({ executable: command.executable, args: command.args, env: world.agentEnv() }),
    now,
    (exit) => {
      violation(`the agent exited on its own (code ${String(exit.code)}); a supervisor restarts it in 2 s as systemd would\n${exit.tail}`);
      exitsSinceReady += 1;
      if (exitsSinceReady >= CRASH_LOOP_EXITS && !crashLoop.signal.aborted) {
        violation(`crash loop: ${exitsSinceReady} exits in a row without a finished first pass; the soak stops here`);
        crashLoop.abort();
      }
    },
  );
  // One stream per cycle and per action: an outcome that differs between two runs of a seed
  // (a container that restarted sooner) changes that choice only, not every later one.
  const rng = (name: string, index: number) => stream(options.seed, name, index);
  const churn = new Churn(world);
  const ctxFor = (cycle: number): FaultContext => ({ world, agent, random: rng('fault', cycle), violation: (m) => violation(m) });
  const unavailableFaults: Record<string, string> = {};
  const available: FaultKind[] = [];
  for (const kind of options.faults) {
    const why = FAULTS[kind].unavailable(world);
    if (why === undefined) available.push(kind);
    else unavailableFaults[kind] = why;
  }
  const reported = new Set<string>();
  let exitsSinceReady = 0;
  const crashLoop = new AbortController();
  const halted = () => stop.aborted || crashLoop.signal.aborted;
  let cycles = 0;

  /** Checks that hold at every moment: the second host's targets stay, nobody else deregisters them, nothing joins a group it may not. */
  const checkAlways = (live: ReturnType<typeof liveTargets>) => {
    for (const lost of lostForeign(churn.foreignKeys(), live.foreign)) {
      if (!reported.has(lost)) violation(`the second host's target ${lost} was removed`);
      reported.add(lost);
    }
    for (const e of world.elb.requestLog) {
      if (e.status !== 200 || e.caller === OTHER_HOST.accessKeyId) continue;
      if (e.action === 'DeregisterTargets' && (e.targets ?? []).some((t) => t.id === OTHER_HOST.address)) violation(`${e.caller ?? 'a caller'} deregistered the second host's target in ${e.targetGroupArn ?? '?'}`);
      if (e.action === 'RegisterTargets' && (e.targetGroupArn === world.groups[DISALLOWED_GROUP] || e.targetGroupArn === world.unknownGroupArn)) violation(`${e.caller ?? 'a caller'} registered in ${e.targetGroupArn}, which is not allowed`);
    }
    world.elb.clearRequestLog();
  };

  const snapshot = async () => {
    const listed = await world.docker.listContainers({ all: true, filters: { label: [`${TEST_RUN_LABEL}=${world.runId}`] } });
    const containers: ListedContainer[] = listed.map((c) => ({
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      state: c.State,
      health: healthFromStatus(c.Status),
      ports: new Map(c.Ports.filter((p) => p.Type === 'tcp' && p.PublicPort && !(p.IP ?? '').includes(':')).map((p) => [p.PrivatePort, p.PublicPort])),
    }));
    const live = liveTargets(Object.values(world.groups).map((arn) => [arn, world.elb.targets(arn)] as const), OTHER_HOST.address);
    checkAlways(live);
    const desired = desiredTargets(containers, churn.intents(), world.address);
    return { live, diff: diffTargets(desired, live.ours) };
  };

  const agentReady = () => {
    const ready = agent.current?.logs.some((l) => l.event === 'ready') === true;
    if (ready) exitsSinceReady = 0;
    return ready;
  };

  /** Waits until the groups hold exactly the desired set; records the time, or a violation with the diff. */
  const converge = async (label: string): Promise<void> => {
    const from = now();
    let last: TargetDiff | undefined;
    for (let poll = 0; ; poll++) {
      const { diff } = await snapshot();
      // Converged means the agent runs and has finished its first pass, too: an agent still starting may not have read its files yet.
      if (isConverged(diff) && agentReady()) {
        const ms = now() - from;
        convergence.push(ms);
        if (poll > 0) repairs.push(ms);
        note('check', label, `converged in ${ms} ms${poll > 0 ? ` (was: missing ${JSON.stringify(last?.missing ?? [])}, unexpected ${JSON.stringify(last?.unexpected ?? [])})` : ''}`);
        return;
      }
      last = diff;
      if (now() - from > CONVERGENCE_BOUND_MS || crashLoop.signal.aborted) break;
      await sleep(POLL_MS);
    }
    violation(`${label}: the groups did not converge within ${CONVERGENCE_BOUND_MS} ms`, last);
    const lateFrom = now();
    while (now() - lateFrom < LATE_LOOK_MS && !crashLoop.signal.aborted) {
      await sleep(1_000);
      if (isConverged((await snapshot()).diff) && agentReady()) {
        note('check', label, `converged late, ${now() - from} ms after the fault lifted`);
        return;
      }
    }
    note('check', label, `still not converged ${now() - from} ms after the fault lifted`);
  };

  /** A target registered while the state dir is full must already be recorded (never register what you could not record first). */
  const checkRecorded = async () => {
    const { live } = await snapshot();
    let recorded: Set<string>;
    try {
      // Read as the agent reads it: state.json with the journal's later notes taken in (a record is noted before its call).
      const found = await new StateStore(world.stateDir, { moveAside: false }).inspect();
      if (found.kind === 'unusable') throw new Error(found.problem);
      recorded = new Set((found.kind === 'ok' ? found.state.targets : []).map((t) => targetKey(t.targetGroupArn, t.id, t.port)));
    } catch (error) {
      violation(`while the state dir is full, the state is unreadable: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const unrecorded = [...live.ours].filter((k) => !recorded.has(k) && world.elb.targets(k.split('|')[0] ?? '').some((t) => t.state !== 'draining' && `${t.id}:${t.port}` === k.split('|')[1]));
    if (unrecorded.length > 0) violation(`registered while the state dir is full but not recorded in ${STATE_FILE} or ${JOURNAL_FILE}: ${unrecorded.join(', ')}`);
  };

  const sampleRss = () => {
    const sample = agent.rss();
    if (sample) rss.push({ atMs: now(), ...sample });
  };

  try {
    note('agent', 'start', `pid ${String(agent.start().pid)} (${command.executable} ${command.args.join(' ')})`);
    await agent.current?.ready(60_000);
    for (let i = 0; churn.roster.size < DEFAULT_ROSTER_LIMITS.min; i++) {
      const random = rng('fill', i);
      const action = nextChurn(random, churn.entries(), churn.foreign);
      events.push(action.kind);
      note('churn', action.kind, await churn.run(action, random));
    }
    await converge('start');

    while (now() < options.durationSeconds * 1000 && !halted()) {
      cycles += 1;
      const plan = planCycle(rng('cycle', cycles), available);
      const ctx = ctxFor(cycles);
      if (plan.fault !== 'none') {
        faults.push(plan.fault);
        events.push(plan.fault);
        note('fault', plan.fault, await FAULTS[plan.fault].apply(ctx));
      }
      const gap = plan.holdMs / (plan.churn + 1);
      for (let i = 0; i < plan.churn; i++) {
        await sleep(gap);
        const random = rng('churn', cycles * 8 + i);
        const action = nextChurn(random, churn.entries(), churn.foreign);
        events.push(action.kind);
        note('churn', action.kind, await churn.run(action, random));
        checkAlways((await snapshot()).live);
      }
      await sleep(gap);
      if (plan.fault === 'state-disk-full') await checkRecorded();
      if (plan.fault !== 'none') {
        const lifted = await FAULTS[plan.fault].lift(ctx);
        if (lifted) note('lift', plan.fault, lifted);
      }
      await churn.refresh();
      await converge(`cycle ${cycles} (${plan.fault})`);
      sampleRss();
    }

    // The end: everything settles once more, then every container goes and so must every target of ours.
    if (!crashLoop.signal.aborted) {
      await converge('final');
      await churn.removeAll();
      note('churn', 'remove-all', 'every container removed');
      await converge('cleanup');
      if (!agent.current) violation('the agent is not running at the end of the run');
    }
  } finally {
    await agent.stop();
    await world.close();
    if (options.agentLogFile) {
      writeFileSync(options.agentLogFile, agent.runs.map((run, i) => `=== agent run ${i + 1} (pid ${String(run.pid)})\n${run.stdout}${run.stderr}`).join('\n'));
    }
  }

  const report: ChaosReport = {
    seed: options.seed,
    durationSeconds: options.durationSeconds,
    elapsedSeconds: now() / 1000,
    cycles,
    events: events.length,
    eventsByKind: countBy(events),
    faultsByKind: countBy(faults),
    unavailableFaults,
    convergenceMs: convergenceFigures(convergence),
    repairMs: convergenceFigures(repairs),
    boundMs: CONVERGENCE_BOUND_MS,
    agentStarts: agent.starts,
    uninjectedExits: agent.uninjected.length,
    rss: judgeRss(rss),
    violations,
  };
  if (report.rss.grew) violations.push(`agent RSS grew from ${report.rss.firstMedianBytes} to ${report.rss.lastMedianBytes} bytes (median of the first and last quarter of samples)`);
  return { report, history };
}

export { CONTAINER_PORT };
