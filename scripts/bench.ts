// `npm run bench -- [--quick] [--json FILE] [--plot FILE|--no-plot] [--executable PATH|bundle] [--profile]`:
// measures the agent (the built x64 single executable when there is one, else the bundle)
// against a real Docker engine and the local ELBv2 endpoint, side by side with a naive probe
// (scripts/bench/probe.ts: one event, one inspect, one SDK call) on the same events:
//  - Docker `start` event -> RegisterTargets and `kill` -> DeregisterTargets, one at a time,
//    p50/p90/p99 for agent and probe and their ratios, with 0 and more stopped containers around;
//  - the stop patterns (scripts/bench/stop-patterns.ts): lone, a chain of 20, a task's containers
//    together, kill -> DeregisterTargets against the probe, with calls and throttles per pattern;
//  - a burst across 3 groups started and stopped together, against Docker's own time and the
//    account's default buckets;
//  - start-up to first reconcile with none and with many containers; idle CPU seconds per hour;
//  - resident memory idle, after the burst, and idle again after 1,000 container starts and stops (growth);
//  - the executables' and the bundle's sizes;
//  - with --profile, where the agent's time between a lone event and its call goes, step by step
//    (from its own trace, agent/trace.ts; tracing adds a little to each event, so the latencies of
//    a profiled run are not the ones to quote).
// Prints the figures, writes them as JSON (--json), draws the latency plot (scripts/bench/plot.py;
// full runs write docs/bench-latency.png). Exits non-zero only on errors (a target never
// registered, Docker failing): goals missed are reported, never fatal.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EcsContainer } from '../test/support/ecs-container.ts';
import type { AgentProcess } from '../test/support/agent-process.ts';
import { sleep, waitFor } from '../test/support/wait.ts';
import { agentUnderTest, artifactSizes } from './bench/agent-under-test.ts';
import { createBenchWorld, stateDir, HOST_IP, type AgentRole, type BenchWorld } from './bench/bench-world.ts';
import { burst } from './bench/burst.ts';
import { addStoppedContainers, churn } from './bench/churn.ts';
import { loneChanges, type LoneChangeSamples } from './bench/one-at-a-time.ts';
import { parseBenchOptions } from './bench/options.ts';
import { profileEventPath, profileLines } from './bench/profile.ts';
import { cpuSeconds, peakRssMiB, rssMiB, rssParts } from './bench/proc.ts';
import { drawPlot, printReport, withGoals, type BenchResult, type LevelResult } from './bench/report.ts';
import { round1, summary } from './bench/stats.ts';
import { callFigures, chainOfStops, patternFigures, taskStops } from './bench/stop-patterns.ts';

const SETTLE_MS = 3_000;

/** Starts an agent with a fresh state directory and waits for its first reconcile; resolves with the agent and its uptime then. */
async function startAgent(world: BenchWorld, start: (env: Record<string, string>) => AgentProcess, role: AgentRole): Promise<{ agent: AgentProcess; readyMs: number; dir: string; remove(): void }> {
  const dir = stateDir();
  const agent = start(world.agentEnv(dir.path, role));
  try {
    const ready = await agent.ready(60_000);
    return { agent, readyMs: Number(ready.uptimeMs), dir: dir.path, remove: dir.remove };
  } catch (err) {
    await agent.stop('SIGKILL');
    dir.remove();
    throw err;
  }
}

function level(stopped: number, containersOnEngine: number, s: LoneChangeSamples): LevelResult {
  return { stopped, containersOnEngine, start: { agent: summary(s.agentStart), probe: summary(s.probeStart) }, kill: { agent: summary(s.agentKill), probe: summary(s.probeKill) } };
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  const sizes = options.sizes;
  const under = agentUnderTest(options.executable, options.nodeFlags);
  if (under.warning) console.error(`bench: warning: ${under.warning}`);
  console.error(`bench: measuring the ${under.kind} ${under.path}${under.nodeFlags.length ? ` with ${under.nodeFlags.join(' ')}` : ''}${options.quick ? ' (quick)' : ''}`);
  const began = Date.now();
  const phaseSeconds: Record<string, number> = {};
  let current = { name: 'setup', since: began };
  /** Starts the next measurement: says so, and records how long the previous one took. */
  const phase = (name: string, text: string) => {
    phaseSeconds[current.name] = Math.round((Date.now() - current.since) / 100) / 10;
    current = { name, since: Date.now() };
    if (text) console.error(`bench: ${text}`);
  };
  const world = await createBenchWorld(sizes.groups, options.profile);
  const cleanups: Array<() => Promise<void> | void> = [];
  let tornDown: Promise<void> | undefined;
  const tearDown = () =>
    (tornDown ??= (async () => {
      for (const c of cleanups.reverse()) await c();
      await world.close();
    })());
  // Ctrl-C or a kill mid-run: the agent, the probe, the endpoint and the containers go too.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}: removing what the run started`);
      void tearDown().finally(() => process.exit(code));
    });
  }
  try {
    const main = await startAgent(world, under.start, 'lone');
    cleanups.push(() => main.agent.stop('SIGKILL').then(() => undefined), main.remove);
    const pid = main.agent.pid!;
    const mem: Record<string, number> = {};
    let idleCpu = { agentSecondsPerHour: NaN, probeSecondsPerHour: NaN, windowSeconds: sizes.idleSeconds };

    /** Idles with `running` containers up: resident memory at the end, CPU over the window. */
    const idle = async () => {
      await sleep(SETTLE_MS);
      const [a0, p0] = [cpuSeconds(pid), cpuSeconds(world.probePid)];
      await sleep(sizes.idleSeconds * 1000);
      const perHour = (s: number) => round1((s * 3600) / sizes.idleSeconds);
      return { rss: rssMiB(pid), ...rssParts(pid), agentSecondsPerHour: perHour(cpuSeconds(pid) - a0), probeSecondsPerHour: perHour(cpuSeconds(world.probePid) - p0) };
    };

    phase('lone', `${sizes.events} lone starts and kills, ${sizes.running} running at most; idle ${sizes.idleSeconds} s with ${sizes.running} up`);
    let startsAtFirstIdle = 0;
    const loneSince = Date.now();
    const base = await loneChanges(world, sizes.events, sizes.running, async () => {
      const first = await idle();
      startsAtFirstIdle = world.starts;
      idleCpu = { agentSecondsPerHour: first.agentSecondsPerHour, probeSecondsPerHour: first.probeSecondsPerHour, windowSeconds: sizes.idleSeconds };
      Object.assign(mem, { idleWithRunning: first.rss, idleAnonymous: first.anonymous, idleFileBacked: first.file });
    });
    const levels: LevelResult[] = [level(0, await world.containerCount(), base)];
    const lone = patternFigures(base, callFigures(world, loneSince, [world.groups.agent]));

    phase('stops', `stop patterns: a chain of ${sizes.chain}, ${sizes.taskRounds} tasks of ${sizes.taskContainers} stopped together`);
    const chain = await chainOfStops(world, sizes.chain);
    const task = await taskStops(world, sizes.taskContainers, sizes.taskRounds);
    const trace = join(main.dir, 'trace');
    const profile = options.profile && existsSync(trace) ? profileEventPath(readFileSync(trace, 'utf8')) : undefined;

    phase('burst', `burst of ${sizes.burst} across ${sizes.groups} groups; start-up with ${sizes.startupContainers} containers`);
    let startupWithMany = NaN;
    // Its own agent, told the account's default limits: the lone rounds' agent is told they were raised.
    const burstAgent = await startAgent(world, under.start, 'burst');
    const bursts = await burst(world, sizes.burst, async (up) => {
      mem.afterBurst = rssMiB(burstAgent.agent.pid!);
      const extra: EcsContainer[] = [];
      try {
        const more = await Promise.all(Array.from({ length: Math.max(0, sizes.startupContainers - up.length) }, (_, i) => world.startContainer(world.groups.burst[i % sizes.groups] as string)));
        extra.push(...more);
        const all = [...up, ...extra];
        await waitFor(() => world.groups.burst.reduce((n, g) => n + world.elb.targets(g).filter((t) => t.id === HOST_IP).length, 0) >= all.length, { description: 'start-up containers registered', timeoutMs: 60_000 });
        const second = await startAgent(world, under.start, 'burst');
        startupWithMany = second.readyMs;
        await second.agent.stop('SIGKILL');
        second.remove();
      } finally {
        await Promise.all(extra.map((c) => c.remove()));
      }
      await waitFor(() => world.groups.burst.reduce((n, g) => n + world.elb.targets(g).filter((t) => t.id === HOST_IP).length, 0) === up.length, { description: 'extra start-up containers deregistered', timeoutMs: 60_000 });
    }).finally(async () => {
      await burstAgent.agent.stop('SIGKILL');
      burstAgent.remove();
    });

    const stoppedContainers: EcsContainer[] = [];
    for (const stopped of sizes.stoppedLevels.filter((n) => n > 0)) {
      phase(`stopped-${stopped}`, `${sizes.eventsPerStoppedLevel} lone starts and kills with ${stopped} stopped containers lying around`);
      stoppedContainers.push(...(await addStoppedContainers(world, stopped - stoppedContainers.length)));
      levels.push(level(stopped, await world.containerCount(), await loneChanges(world, sizes.eventsPerStoppedLevel, sizes.running)));
    }

    // The bench's own starts so far, topped up to growthStarts (the last round's `running` included).
    const churnCount = Math.max(sizes.minChurn, sizes.growthStarts - (world.starts - startsAtFirstIdle) - sizes.running);
    phase('churn', `churn of ${churnCount} container starts and stops`);
    const churned = await churn(world, churnCount, sizes.churnParallel);

    phase('growth', `idle again with ${sizes.running} containers up (the stopped ones removed)`);
    await Promise.all(stoppedContainers.map((c) => c.remove()));
    const last = await Promise.all(Array.from({ length: sizes.running }, () => world.startContainer(world.groups.agent)));
    try {
      await Promise.all(last.map((c) => world.waitForCall('RegisterTargets', world.groups.agent, c, Date.now() - 60_000, 60_000)));
      const again = await idle();
      Object.assign(mem, { idleAtEnd: again.rss, idleAnonymousAtEnd: again.anonymous, startsBetween: world.starts - startsAtFirstIdle, growth: round1(again.rss - (mem.idleWithRunning ?? NaN)) });
    } finally {
      await Promise.all(last.map((c) => c.remove()));
    }
    phase('end', '');
    mem.peak = peakRssMiB(pid);

    const result: BenchResult = withGoals({
      benchmark: 'agent-vs-probe',
      quick: options.quick,
      agent: { kind: under.kind, path: under.path, ...(under.commit ? { commit: under.commit } : {}), nodeFlags: under.nodeFlags },
      node: process.versions.node,
      sizes,
      samples: { start: { agent: base.agentStart, probe: base.probeStart }, kill: { agent: base.agentKill, probe: base.probeKill } },
      levels,
      burst: bursts,
      stops: { lone, chain, task },
      startupToFirstReconcileMs: { none: main.readyMs, many: startupWithMany, manyContainers: sizes.startupContainers },
      idleCpu,
      rssMiB: { ...mem, running: sizes.running },
      churn: churned,
      artifacts: artifactSizes(),
      seconds: Math.round((Date.now() - began) / 1000),
      phaseSeconds,
      measuredAt: new Date().toISOString(),
      ...(profile ? { profile } : {}),
    });
    printReport(result);
    if (profile) for (const line of profileLines(profile)) console.log(line);
    if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
    if (options.plot) drawPlot(result, options.plot);
  } finally {
    await tearDown();
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
