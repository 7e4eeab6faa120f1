/**
 * What happens to the fleet in each scenario, as ECS, Docker and OpenVPN would do it. Each
 * scenario schedules its actions from `t0` on (the fleet has been at rest before) and records
 * every host it touches as an episode, whose lag is the time until that host is exact again.
 */
import { exponential, shuffle, uniform } from './random.ts';
import type { SimHost } from './sim-host.ts';
import { poolAddress, type World } from './world.ts';

export type ScenarioName = 'steady' | 'deploy' | 'deploy-gated' | 'vpn' | 'restart' | 'lone' | 'shared-start-stop';
/** What `--scenario all` runs. */
export const MAIN_SCENARIOS: readonly ScenarioName[] = ['steady', 'deploy', 'deploy-gated', 'vpn', 'restart'];

export interface ScenarioParams {
  /** Mean time between task replacements on one host (Poisson), hours; 0 = none. */
  readonly churnHours: number;
  /** Churn in the deploy and vpn scenarios too (steady and restart always have it). */
  readonly backgroundChurn: boolean;
  /** Fleet-wide pace at which ECS starts replacement tasks during a deployment (tasks per minute). */
  readonly deployPerMinute: number;
  /** ECS sends the old task its stop signal this long after the new one started (ms). */
  readonly stopAfterMs: number;
  /** A stopped task's process exits this long after the stop signal (ms, uniform). */
  readonly stopGraceMs: readonly [number, number];
  /** The regional VPN outage's length (ms). */
  readonly vpnOutageMs: number;
  /** Hosts notice the dead tunnel within this window after the outage starts (keepalive 10 60: ping-restart). */
  readonly vpnDetectMs: readonly [number, number];
  /** Hosts reconnect spread over this window after the server is back (OpenVPN connect-retry, 300 s cap). */
  readonly vpnReconnectSpreadMs: number;
  /** TLS handshake and pull after the reconnect attempt that succeeds (ms, uniform). */
  readonly vpnHandshakeMs: readonly [number, number];
  /** Every agent is restarted within this window (a fleet-wide upgrade). */
  readonly restartWindowMs: number;
  /** Each agent is down this long (ms, uniform). */
  readonly restartDownMs: readonly [number, number];
  /** deploy-gated: ECS's container health check (asking the readiness gate) runs this often (ms). */
  readonly gateCheckIntervalMs: number;
  /** deploy-gated: ECS stops the old task this long after its replacement turned healthy (ms, uniform). */
  readonly stopAfterHealthyMs: readonly [number, number];
  /** shared-start-stop: pause between "every host registered" and the stop signal (ms). */
  readonly sharedPauseMs: number;
}

export interface Scenario {
  readonly name: ScenarioName;
  /** What the scenario does, in words (goes into the report). */
  readonly description: string;
  /** Change calls the event needs at least (the floor), if it is an event. */
  readonly floorCalls?: number;
  /** Runs for exactly this long after t0 (no early stop). */
  readonly fixedMs?: number;
  /** The episodes the scenario's lag is measured over (key prefix). */
  readonly episodes: string;
  /** When, after t0, the work starts (the VPN server is back): call rates and "all exact after" count from there. */
  readonly workAfterMs: number;
  schedule(world: World, t0: number): void;
  /** True once every action is applied (the run can stop when every host is exact too). */
  finished(): boolean;
}

const h = (ms: number) => (ms / 3_600_000).toFixed(ms % 3_600_000 === 0 ? 0 : 1);

/** ECS replaces one task of service `g` on a host: new task first, the old one's stop signal `stopAfterMs` later. */
function replaceTask(world: World, host: SimHost, g: number, p: ScenarioParams, key: string, then?: () => void): void {
  const old = world.taskOf(host, g);
  world.startTask(host, g);
  world.tracker.note(key, host.index);
  world.clock.set(() => {
    if (old) world.stopTask(host, old, uniform(world.random, p.stopGraceMs[0], p.stopGraceMs[1]));
    world.tracker.note(key, host.index);
    then?.();
  }, p.stopAfterMs);
}

/** Each host replaces a random one of its tasks every `churnHours` on average (Poisson), until `untilMs`. */
function churn(world: World, p: ScenarioParams, fromMs: number, untilMs: number): void {
  if (!(p.churnHours > 0)) return;
  // From the past, the missed replacements would all fire at once now.
  if (fromMs < world.clock.now()) throw new Error(`churn from ${fromMs} ms, before now (${world.clock.now()} ms)`);
  const mean = p.churnHours * 3_600_000;
  let n = 0;
  for (const host of world.hosts) {
    const next = (after: number) => {
      const at = after + exponential(world.random, mean);
      if (at >= untilMs) return;
      world.clock.at(at, () => {
        replaceTask(world, host, Math.floor(world.random() * world.groups.length), p, `churn:${host.index}:${n++}`);
        next(at);
      });
    };
    next(fromMs);
  }
}

export function makeScenario(name: ScenarioName, p: ScenarioParams, horizonMs: number, groups: number, hosts: number): Scenario {
  switch (name) {
    case 'steady':
      return {
        name,
        description: `steady state: each host replaces one of its tasks every ${p.churnHours} h on average (Poisson; new task first, the old one's stop signal ${p.stopAfterMs / 1000} s later)`,
        fixedMs: horizonMs,
        episodes: 'churn:',
        workAfterMs: 0,
        schedule: (world, t0) => churn(world, p, t0, Number.POSITIVE_INFINITY),
        finished: () => false,
      };
    case 'deploy': {
      let pending = hosts;
      return {
        name,
        description:
          `rolling deployment of service svc0 (group 0): ECS starts one replacement task per host at ${p.deployPerMinute} tasks/min fleet-wide, hosts in random order; ` +
          `the old task gets its stop signal ${p.stopAfterMs / 1000} s after its replacement started and exits ${p.stopGraceMs[0] / 1000}-${p.stopGraceMs[1] / 1000} s later`,
        floorCalls: 2 * hosts,
        episodes: 'deploy:',
        workAfterMs: 0,
        schedule: (world, t0) => {
          const order = shuffle([...world.hosts], world.random);
          const gap = 60_000 / p.deployPerMinute;
          order.forEach((host, k) => world.clock.at(t0 + k * gap, () => replaceTask(world, host, 0, p, `deploy:${host.index}`, () => pending--)));
          if (p.backgroundChurn) churn(world, p, t0, Number.POSITIVE_INFINITY);
        },
        finished: () => pending === 0,
      };
    }
    case 'deploy-gated': {
      let pending = hosts;
      return {
        name,
        description:
          `rolling deployment of svc0 with the readiness gate (label ecs-anywhere-lb.readiness-gate=true; minimumHealthyPercent 100, maximumPercent 200): ECS starts one replacement per host at ${p.deployPerMinute} tasks/min, ` +
          `its container health check asks the host's gate every ${p.gateCheckIntervalMs / 1000} s, and ECS stops the old task ${p.stopAfterHealthyMs[0] / 1000}-${p.stopAfterHealthyMs[1] / 1000} s after its replacement turned healthy`,
        floorCalls: 2 * hosts,
        episodes: 'deploy:',
        workAfterMs: 0,
        schedule: (world, t0) => {
          const order = shuffle([...world.hosts], world.random);
          const gap = 60_000 / p.deployPerMinute;
          order.forEach((host, k) =>
            world.clock.at(t0 + k * gap, () => {
              const old = world.taskOf(host, 0);
              const c = world.startTask(host, 0, true);
              const key = `deploy:${host.index}`;
              world.tracker.note(key, host.index);
              const check = () => {
                if (!c.running || c.killed) return;
                if (!host.readiness(c)) {
                  world.clock.set(check, p.gateCheckIntervalMs);
                  return;
                }
                world.clock.set(() => {
                  if (old) world.stopTask(host, old, uniform(world.random, p.stopGraceMs[0], p.stopGraceMs[1]));
                  world.tracker.note(key, host.index);
                  pending--;
                }, uniform(world.random, p.stopAfterHealthyMs[0], p.stopAfterHealthyMs[1]));
              };
              world.clock.set(check, uniform(world.random, 0, p.gateCheckIntervalMs));
            }),
          );
          if (p.backgroundChurn) churn(world, p, t0, Number.POSITIVE_INFINITY);
        },
        finished: () => pending === 0,
      };
    }
    case 'vpn': {
      let pending = hosts;
      return {
        name,
        description:
          `regional VPN outage of ${h(p.vpnOutageMs)} h: every tunnel goes down (noticed ${p.vpnDetectMs[0] / 1000}-${p.vpnDetectMs[1] / 1000} s in, keepalive 10 60), ` +
          `then every host reconnects spread uniformly over ${p.vpnReconnectSpreadMs / 1000} s (OpenVPN connect-retry backoff capped at 300 s) and gets a new address from the pool`,
        floorCalls: 2 * groups * hosts,
        episodes: 'vpn:',
        workAfterMs: p.vpnOutageMs,
        schedule: (world, t0) => {
          const back = t0 + p.vpnOutageMs;
          const reconnects = world.hosts.map((host) => ({ host, at: back + uniform(world.random, 0, p.vpnReconnectSpreadMs) + uniform(world.random, p.vpnHandshakeMs[0], p.vpnHandshakeMs[1]) }));
          reconnects.sort((a, b) => a.at - b.at);
          for (const host of world.hosts) world.clock.at(t0 + uniform(world.random, p.vpnDetectMs[0], p.vpnDetectMs[1]), () => world.assignAddress(host, undefined));
          reconnects.forEach(({ host, at }, k) =>
            world.clock.at(at, () => {
              world.assignAddress(host, poolAddress('after-vpn', k));
              world.tracker.note(`vpn:${host.index}`, host.index);
              pending--;
            }),
          );
          if (p.backgroundChurn) churn(world, p, t0, Number.POSITIVE_INFINITY);
        },
        finished: () => pending === 0,
      };
    }
    case 'restart':
      return {
        name,
        description:
          `fleet-wide agent restart (an upgrade): every agent gets SIGTERM (--on-exit keep: targets stay) at a random point of ${p.restartWindowMs / 1000} s, ` +
          `is down ${p.restartDownMs[0] / 1000}-${p.restartDownMs[1] / 1000} s and starts again with its state file; tasks keep churning as in steady state`,
        floorCalls: 0,
        fixedMs: horizonMs,
        episodes: 'restart:',
        workAfterMs: 0,
        schedule: (world, t0) => {
          for (const host of world.hosts) {
            world.clock.at(t0 + uniform(world.random, 0, p.restartWindowMs), () => {
              void host.stopAgent();
              world.clock.set(() => {
                void host.startAgent();
                world.tracker.note(`restart:${host.index}`, host.index);
              }, uniform(world.random, p.restartDownMs[0], p.restartDownMs[1]));
            });
          }
          churn(world, p, t0, Number.POSITIVE_INFINITY);
        },
        finished: () => false,
      };
    case 'lone': {
      let done = false;
      return {
        name,
        description: 'one task replaced on one host of an otherwise idle fleet',
        floorCalls: 2,
        episodes: 'lone:',
        workAfterMs: 0,
        schedule: (world, t0) => world.clock.at(t0, () => replaceTask(world, world.hosts[0] as SimHost, 0, p, 'lone:0', () => (done = true))),
        finished: () => done,
      };
    }
    case 'shared-start-stop': {
      let done = false;
      return {
        name,
        description:
          'one Docker engine shared by every agent (the integration test): one container of svc0 starts, a synchronized event for every host; ' +
          `${p.sharedPauseMs / 1000} s after every host registered it, it gets its stop signal and exits`,
        floorCalls: 2 * hosts,
        episodes: '',
        workAfterMs: 0,
        schedule: (world, t0) => {
          const first = world.hosts[0] as SimHost;
          world.clock.at(t0, () => {
            const c = world.startTask(first, 0);
            for (const host of world.hosts) world.tracker.note(`start:${host.index}`, host.index);
            const poll = () => {
              if (world.tracker.inexact > 0) {
                world.clock.set(poll, 100);
                return;
              }
              world.clock.set(() => {
                world.stopTask(first, c, uniform(world.random, p.stopGraceMs[0], p.stopGraceMs[1]));
                for (const host of world.hosts) world.tracker.note(`stop:${host.index}`, host.index);
                done = true;
              }, p.sharedPauseMs);
            };
            world.clock.set(poll, 100);
          });
        },
        finished: () => done,
      };
    }
  }
}
