// The ECS rolling-update decision of the deployment emulator (test/support/ecs-deployment/
// scheduler.ts), as data tables: tasks in, tasks to start and stop out.
import { describe, expect, it } from 'vitest';
import { countsHealthy, deploymentLimits, nextStep } from '../support/ecs-deployment/scheduler.ts';
import type { SchedulerConfig, TaskSnapshot } from '../support/ecs-deployment/scheduler.ts';

const NOW = 100_000;
const base: SchedulerConfig = { desiredCount: 3, minimumHealthyPercent: 100, maximumPercent: 200, targetRevision: 2, healthyAfterRunningMs: 40_000 };

/** `id` is `r<revision>-<n>`; the state letter: P pending, S starting (running, not yet healthy), H healthy, U unhealthy, X stopping. */
function task(spec: string): TaskSnapshot {
  const [id, state] = spec.split(':') as [string, string];
  const revision = Number(/^r(\d+)/.exec(id)?.[1]);
  const at = 1_000 + Number(id.split('-')[1] ?? 0);
  switch (state) {
    case 'P':
      return { id, revision, status: 'PENDING', health: 'UNKNOWN', hasHealthCheck: true };
    case 'S':
      return { id, revision, status: 'RUNNING', health: 'UNKNOWN', hasHealthCheck: true, runningSince: at };
    case 'H':
      return { id, revision, status: 'RUNNING', health: 'HEALTHY', hasHealthCheck: true, runningSince: at };
    case 'U':
      return { id, revision, status: 'RUNNING', health: 'UNHEALTHY', hasHealthCheck: true, runningSince: at };
    case 'X':
      return { id, revision, status: 'STOPPING', health: 'HEALTHY', hasHealthCheck: true, runningSince: at };
    case 'XU':
      return { id, revision, status: 'STOPPING', health: 'UNHEALTHY', hasHealthCheck: true, runningSince: at };
    default:
      throw new Error(`bad state ${state}`);
  }
}

function step(specs: string[], config: Partial<SchedulerConfig> = {}) {
  const result = nextStep(specs.map(task), { ...base, ...config }, NOW);
  return { start: result.start, stop: result.stop.map((s) => s.id) };
}

describe('deploymentLimits', () => {
  it.each([
    [3, 100, 200, 3, 6],
    [4, 50, 150, 2, 6],
    [3, 50, 150, 2, 4], // 1.5 rounds up, 4.5 rounds down
    [2, 75, 100, 2, 2], // the docs' example: 75% of 2 rounds up to 2, nothing can stop first
    [3, 0, 100, 0, 3], // the CDK ExternalService defaults
  ])('desired %i, min %i%%, max %i%% -> at least %i healthy, at most %i active', (desiredCount, minimumHealthyPercent, maximumPercent, minHealthy, maxActive) => {
    expect(deploymentLimits({ desiredCount, minimumHealthyPercent, maximumPercent })).toEqual({ minHealthy, maxActive });
  });
});

describe('countsHealthy', () => {
  it('a task with a health check counts once HEALTHY, one without 40 s after RUNNING', () => {
    expect(countsHealthy(task('r1-1:H'), NOW, 40_000)).toBe(true);
    expect(countsHealthy(task('r1-1:S'), NOW, 40_000)).toBe(false);
    expect(countsHealthy(task('r1-1:X'), NOW, 40_000)).toBe(false);
    const plain = { id: 'p', revision: 1, status: 'RUNNING', health: 'UNKNOWN', hasHealthCheck: false, runningSince: NOW - 39_999 } as const;
    expect(countsHealthy(plain, NOW, 40_000)).toBe(false);
    expect(countsHealthy({ ...plain, runningSince: NOW - 40_000 }, NOW, 40_000)).toBe(true);
  });
});

describe('nextStep', () => {
  it.each<[string, string[], Partial<SchedulerConfig>, { start: number; stop: string[] }]>([
    ['a new service starts desiredCount tasks', [], {}, { start: 3, stop: [] }],
    ['100/200: all new tasks start at once, no old one stops yet', ['r1-1:H', 'r1-2:H', 'r1-3:H'], {}, { start: 3, stop: [] }],
    ['100/200: nothing stops while new tasks are not healthy', ['r1-1:H', 'r1-2:H', 'r1-3:H', 'r2-1:S', 'r2-2:P', 'r2-3:S'], {}, { start: 0, stop: [] }],
    ['100/200: each healthy new task lets one old one stop', ['r1-1:H', 'r1-2:H', 'r1-3:H', 'r2-1:H', 'r2-2:S', 'r2-3:H'], {}, { start: 0, stop: ['r1-1', 'r1-2'] }],
    ['100/200: stopping tasks no longer count', ['r1-1:X', 'r1-2:X', 'r1-3:H', 'r2-1:H', 'r2-2:H', 'r2-3:H'], {}, { start: 0, stop: ['r1-3'] }],
    ['done: nothing to do', ['r2-1:H', 'r2-2:H', 'r2-3:H'], {}, { start: 0, stop: [] }],
    ['50/150 of 4: two new start, old ones stop down to two healthy', ['r1-1:H', 'r1-2:H', 'r1-3:H', 'r1-4:H'], { desiredCount: 4, minimumHealthyPercent: 50, maximumPercent: 150 }, { start: 2, stop: ['r1-1', 'r1-2'] }],
    ['50/150 of 4: room made by stops is filled next', ['r1-1:X', 'r1-2:X', 'r1-3:H', 'r1-4:H', 'r2-1:P', 'r2-2:P'], { desiredCount: 4, minimumHealthyPercent: 50, maximumPercent: 150 }, { start: 2, stop: [] }],
    ['0/100 (CDK defaults): every old task stops first', ['r1-1:H', 'r1-2:H', 'r1-3:H'], { minimumHealthyPercent: 0, maximumPercent: 100 }, { start: 0, stop: ['r1-1', 'r1-2', 'r1-3'] }],
    ['0/100: then all new ones start', ['r1-1:X', 'r1-2:X', 'r1-3:X'], { minimumHealthyPercent: 0, maximumPercent: 100 }, { start: 3, stop: [] }],
    ['100/100: stuck, as ECS is', ['r1-1:H', 'r1-2:H', 'r1-3:H'], { maximumPercent: 100 }, { start: 0, stop: [] }],
    ['old tasks that are not healthy yet stop first and freely', ['r1-1:S', 'r1-2:H', 'r1-3:H', 'r2-1:H', 'r2-2:S', 'r2-3:S'], {}, { start: 0, stop: ['r1-1'] }],
    ['a task that exited is replaced', ['r2-1:H', 'r2-2:H'], {}, { start: 1, stop: [] }],
    ['an unhealthy task gets a replacement first', ['r2-1:H', 'r2-2:H', 'r2-3:U'], {}, { start: 1, stop: [] }],
    ['an unhealthy task stops once its replacement is healthy', ['r2-1:H', 'r2-2:H', 'r2-3:U', 'r2-4:H'], {}, { start: 0, stop: ['r2-3'] }],
    ['unhealthy tasks go one per healthy replacement', ['r2-1:H', 'r2-2:U', 'r2-3:U', 'r2-4:H', 'r2-5:S'], {}, { start: 0, stop: ['r2-2'] }],
    ['max allows no replacement: unhealthy tasks stop one by one', ['r2-1:H', 'r2-2:U', 'r2-3:U'], { maximumPercent: 100 }, { start: 0, stop: ['r2-2'] }],
    ['... and not while one is still stopping', ['r2-1:H', 'r2-2:XU', 'r2-3:U'], { maximumPercent: 100 }, { start: 1, stop: [] }],
    ['an unhealthy old task is replaced like any unhealthy task', ['r1-1:U', 'r1-2:H', 'r1-3:H'], {}, { start: 3, stop: [] }],
    ['a recovered task makes a surplus: the newest not-healthy one goes', ['r2-1:H', 'r2-2:H', 'r2-3:H', 'r2-4:S'], {}, { start: 0, stop: ['r2-4'] }],
  ])('%s', (_name, specs, config, expected) => {
    expect(step(specs, config)).toEqual(expected);
  });

  it('never plans more than maxActive tasks nor fewer than minHealthy healthy ones', () => {
    const states = ['P', 'S', 'H', 'U', 'X'];
    for (let seed = 0; seed < 2_000; seed++) {
      let x = seed * 7919 + 17;
      const rand = (n: number) => ((x = (x * 1103515245 + 12345) % 2147483648), x % n);
      const config: SchedulerConfig = { ...base, desiredCount: 1 + rand(5), minimumHealthyPercent: [0, 50, 100][rand(3)] ?? 100, maximumPercent: [100, 150, 200][rand(3)] ?? 200 };
      const specs = Array.from({ length: rand(8) }, (_, i) => `r${1 + rand(2)}-${i}:${states[rand(states.length)]}`);
      const tasks = specs.map(task);
      const { start, stop } = nextStep(tasks, config, NOW);
      const { minHealthy, maxActive } = deploymentLimits(config);
      const active = tasks.filter((t) => t.status === 'PENDING' || t.status === 'RUNNING');
      const stopped = new Set(stop.map((s) => s.id));
      expect(active.length - stopped.size + start, `${specs.join(' ')} ${JSON.stringify(config)}`).toBeLessThanOrEqual(Math.max(maxActive, active.length - stopped.size));
      const healthyBefore = active.filter((t) => countsHealthy(t, NOW, base.healthyAfterRunningMs)).length;
      const healthyAfter = active.filter((t) => !stopped.has(t.id) && countsHealthy(t, NOW, base.healthyAfterRunningMs)).length;
      expect(healthyAfter, `${specs.join(' ')} ${JSON.stringify(config)}`).toBeGreaterThanOrEqual(Math.min(minHealthy, healthyBefore));
    }
  });
});
