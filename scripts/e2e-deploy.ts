// `npm run e2e:deploy -- [--deployments N] [--rps R] [--json FILE] [--grace SECONDS] ...`:
// rolling deployments under load with the real agent on the real Docker engine, with the
// readiness gate and without it (the baseline), in the same run; see scripts/e2e-deploy/run.ts.
// Prints the tables, writes the report as JSON with --json, exits 1 when the gated run failed
// or skipped any request (or did not finish), 2 on a usage or setup error. Reuses the engine at
// DOCKER_HOST or starts a private dockerd; everything it started is cleaned up on exit, on
// SIGINT/SIGTERM/SIGHUP too.
import { E2E_DEFAULTS, VARIANTS, runE2eDeploy, validateOptions, type E2eDeployOptions, type Variant } from './e2e-deploy/run.ts';
import { formatReport } from './e2e-deploy/report.ts';
import { UsageError, exitWhenDone, parseCommandLine, readFlags, withE2eSession, writeJsonReport } from './e2e-deploy/e2e-session.ts';

const USAGE = `usage: npm run e2e:deploy -- [options]
  --deployments N          rolling deployments per run (default ${E2E_DEFAULTS.deployments})
  --rps R                  requests per second through the listener (default ${E2E_DEFAULTS.ratePerSecond})
  --json FILE              also write the report as JSON to FILE
  --grace SECONDS          how long the app keeps serving after SIGTERM (default ${E2E_DEFAULTS.graceSeconds}; 0 = it exits at once)
  --stop-timeout SECONDS   the task's stopTimeout (default the larger of ${E2E_DEFAULTS.stopTimeoutSeconds} and grace + 5)
  --propagation-delay SECONDS  Register/DeregisterTargets to routing change (default ${E2E_DEFAULTS.propagationDelayMs / 1000})
  --health-check-interval SECONDS  the container healthCheck's interval (default ${(E2E_DEFAULTS.healthCheck.intervalMs ?? 0) / 1000}, the ECS minimum)
  --only gated|baseline    run one variant only (default both)`;

/** Parses the command line into options (and the JSON path). */
function parseArgs(argv: string[]): { options: E2eDeployOptions; json?: string; help: boolean } {
  const known = ['deployments', 'rps', 'json', 'grace', 'stop-timeout', 'propagation-delay', 'health-check-interval', 'only'];
  const { values, help } = readFlags(argv, known);
  const number = (name: string, fallback: number): number => {
    const text = values.get(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, not ${JSON.stringify(text)}`);
    return n;
  };
  const grace = number('grace', E2E_DEFAULTS.graceSeconds);
  const only = values.get('only');
  if (only !== undefined && !VARIANTS.includes(only as Variant)) throw new UsageError(`--only must be one of ${VARIANTS.join(', ')}, not ${only}`);
  const options: E2eDeployOptions = {
    ...E2E_DEFAULTS,
    deployments: number('deployments', E2E_DEFAULTS.deployments),
    ratePerSecond: number('rps', E2E_DEFAULTS.ratePerSecond),
    graceSeconds: grace,
    stopTimeoutSeconds: number('stop-timeout', Math.max(E2E_DEFAULTS.stopTimeoutSeconds, Math.ceil(grace) + 5)),
    propagationDelayMs: Math.round(number('propagation-delay', E2E_DEFAULTS.propagationDelayMs / 1000) * 1000),
    healthCheck: { ...E2E_DEFAULTS.healthCheck, intervalMs: Math.round(number('health-check-interval', (E2E_DEFAULTS.healthCheck.intervalMs ?? 5_000) / 1000) * 1000) },
    variants: only === undefined ? VARIANTS : [only as Variant],
  };
  try {
    validateOptions(options);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const json = values.get('json');
  return { options, ...(json !== undefined ? { json } : {}), help };
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine('e2e:deploy', USAGE, () => parseArgs(argv));
  if (typeof parsed === 'number') return parsed;
  const { options, json } = parsed;
  return withE2eSession('e2e:deploy', async ({ docker, teardown, signal, log }) => {
    const report = await runE2eDeploy({ ...options, log }, { docker, teardown, signal });
    console.log(formatReport(report).join('\n'));
    writeJsonReport(json, report, log);
    return report.gatedClean ? 0 : 1;
  });
}

exitWhenDone('e2e:deploy', main(process.argv.slice(2)));
