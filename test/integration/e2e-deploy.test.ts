// The short version of `npm run e2e:deploy` (scripts/e2e-deploy/run.ts, the same code): two
// rolling deployments of a 3-task service (100/200) at 50 req/s through a listener with a 2 s
// propagation delay, with the real agent on the real engine, once with the readiness gate and
// once without. With the gate no request may fail or be skipped, and ECS must have waited for
// the agent's read of the group (interval x healthy threshold after the registration). The
// baseline's failures and fail-open requests are printed: they are what the gate avoids.
import Docker from 'dockerode';
import { describe, expect, inject, it } from 'vitest';
import { E2E_DEFAULTS, longestRunMs, runE2eDeploy, type E2eDeployOptions } from '../../scripts/e2e-deploy/run.ts';
import { formatReport } from '../../scripts/e2e-deploy/report.ts';

// Two deployments; one that has not settled in 90 s is stuck (they take 15-45 s on a loaded machine).
// The test's deadline lies beyond the run's own waits, which give up first and say why (the agent's
// output included); a deadline inside them cut a stuck run off with nothing but "timed out".
const OPTIONS: E2eDeployOptions = { ...E2E_DEFAULTS, deployments: 2, deploymentTimeoutMs: 90_000 };

describe('e2e:deploy, short version', () => {
  it('with the gate, 2 rolling deployments under 50 req/s fail no request; the baseline shows the window the gate closes', async () => {
    const report = await runE2eDeploy(
      { ...OPTIONS, runId: inject('testRunId'), log: (line) => console.log(`[e2e:deploy] ${line}`) },
      { docker: new Docker() },
    );
    console.log(formatReport(report).join('\n'));
    const gated = report.runs.find((r) => r.variant === 'gated');
    const baseline = report.runs.find((r) => r.variant === 'baseline');
    expect(gated?.error).toBeUndefined();
    expect(baseline?.error).toBeUndefined();
    expect(gated?.deployments).toHaveLength(2);
    expect(baseline?.deployments).toHaveLength(2);
    expect(gated?.sent).toBeGreaterThan(E2E_DEFAULTS.ratePerSecond * 20);
    // A failure here names the stall of the load's own process: timeouts with a stall of seconds are the machine's, not the gate's.
    expect(
      { failed: gated?.failed, skipped: gated?.skipped, failures: gated?.failures, failOpen: gated?.failOpen },
      `gated run (longest stall of the process running the load: ${gated?.loadProcessStallMs} ms)`,
    ).toEqual({ failed: 0, skipped: 0, failures: {}, failOpen: 0 });
    expect(report.gatedClean).toBe(true);
    // ECS waited for the gate: no new task counted healthy before the agent's first read of the group.
    const firstRead = E2E_DEFAULTS.targetGroup.healthCheckIntervalSeconds * E2E_DEFAULTS.targetGroup.healthyThresholdCount * 1000;
    for (const d of gated?.deployments ?? []) expect(d.newTasksHealthyAfterMs).toBeGreaterThanOrEqual(firstRead);
    // The old tasks exited after their grace, not killed at stopTimeout.
    for (const d of [...(gated?.deployments ?? []), ...(baseline?.deployments ?? [])]) expect(d.oldTaskExitCodes).toEqual([0, 0, 0]);
    // Without the gate ECS stops old tasks while the new targets are still unchecked: requests fail, or
    // (with the local listener's fail-open to `initial` targets) go to targets no health check has passed.
    console.log(`baseline: ${baseline?.failed} failed ${JSON.stringify(baseline?.failures)}, ${baseline?.failOpen} routed fail-open, of ${baseline?.sent}`);
    expect((baseline?.failed ?? 0) + (baseline?.failOpen ?? 0)).toBeGreaterThan(0);
  }, longestRunMs(OPTIONS) + 10_000);
});
