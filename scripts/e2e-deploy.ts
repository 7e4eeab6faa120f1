// `npm run e2e:deploy -- [--deployments N] [--rps R] [--json FILE] [--grace SECONDS] ...`:
// rolling deployments under load with the real agent on the real Docker engine, with the
// readiness gate and without it (the baseline), in the same run; see scripts/e2e-deploy/run.ts.
// Prints the tables, writes the report as JSON with --json, exits 1 when the gated run failed
// or skipped any request (or did not finish), 2 on a usage or setup error. Reuses the engine at
// DOCKER_HOST or starts a private dockerd; everything it started is cleaned up on exit, on
// SIGINT/SIGTERM/SIGHUP too.
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { connectDocker, startDockerEngine, type DockerEngine } from '../test/support/docker-engine.ts';
import { E2E_DEFAULTS, VARIANTS, runE2eDeploy, validateOptions, type E2eDeployOptions, type Variant } from './e2e-deploy/run.ts';
import { formatReport } from './e2e-deploy/report.ts';
import { Teardown } from './e2e-deploy/teardown.ts';

const USAGE = `usage: npm run e2e:deploy -- [options]
  --deployments N          rolling deployments per run (default ${E2E_DEFAULTS.deployments})
  --rps R                  requests per second through the listener (default ${E2E_DEFAULTS.ratePerSecond})
  --json FILE              also write the report as JSON to FILE
  --grace SECONDS          how long the app keeps serving after SIGTERM (default ${E2E_DEFAULTS.graceSeconds}; 0 = it exits at once)
  --stop-timeout SECONDS   the task's stopTimeout (default the larger of ${E2E_DEFAULTS.stopTimeoutSeconds} and grace + 5)
  --propagation-delay SECONDS  Register/DeregisterTargets to routing change (default ${E2E_DEFAULTS.propagationDelayMs / 1000})
  --health-check-interval SECONDS  the container healthCheck's interval (default ${(E2E_DEFAULTS.healthCheck.intervalMs ?? 0) / 1000}, the ECS minimum)
  --only gated|baseline    run one variant only (default both)`;

class UsageError extends Error {}

/** Set by the first SIGINT/SIGTERM/SIGHUP: the handler cleans up and exits; errors of the interrupted run are not news. */
let signalled = false;

/** Parses the command line into options (and the JSON path). */
function parseArgs(argv: string[]): { options: E2eDeployOptions; json?: string; help: boolean } {
  const values = new Map<string, string>();
  let help = false;
  const known = ['deployments', 'rps', 'json', 'grace', 'stop-timeout', 'propagation-delay', 'health-check-interval', 'only'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !known.includes(m[1] as string)) throw new UsageError(`unknown argument ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
    values.set(m[1] as string, value);
  }
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
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`e2e:deploy: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  const log = (line: string) => console.error(`[e2e:deploy] ${line}`);
  const teardown = new Teardown();
  const abort = new AbortController();
  // A signal during the engine's start waits for it, so that a private dockerd is stopped too.
  const starting: Promise<DockerEngine> = startDockerEngine({ log });
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log(`${signal} again: exiting without waiting for the cleanup`);
      process.exit(128 + (os.constants.signals[signal] ?? 1));
    }
    signalled = true;
    log(`${signal}: stopping and cleaning up`);
    abort.abort();
    void (async () => {
      for (const problem of await teardown.run()) log(`cleanup: ${problem}`);
      await starting.then((engine) => engine.stop()).catch((error: unknown) => log(`cleanup: engine: ${String(error)}`));
      process.exit(128 + (os.constants.signals[signal] ?? 1));
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  const engine = await starting;
  try {
    process.env.DOCKER_HOST = engine.dockerHost;
    const docker = connectDocker(engine.dockerHost);
    const report = await runE2eDeploy({ ...parsed.options, log }, { docker, teardown, signal: abort.signal });
    console.log(formatReport(report).join('\n'));
    if (parsed.json !== undefined) {
      writeFileSync(parsed.json, `${JSON.stringify(report, null, 2)}\n`);
      log(`report written to ${parsed.json}`);
    }
    return report.gatedClean ? 0 : 1;
  } finally {
    for (const problem of await teardown.run()) log(`cleanup: ${problem}`);
    if (!signalled) await engine.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (signalled) return;
    console.error(`e2e:deploy failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 2;
  },
);
