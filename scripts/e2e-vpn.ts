// `npm run e2e:vpn -- [--json FILE] [--rps R]`: the load balancer health-checks and serves an
// ECS Anywhere host's container through a real OpenVPN tunnel between network namespaces,
// with installer/install.sh setting up the hosts; see scripts/e2e-vpn/run.ts. Root only.
// Prints the checks and figures, writes the report as JSON with --json; exits 0 when every
// check passed and nothing of the run is left, 1 when not, 2 on a usage or setup error.
// Everything it made is removed on exit, on SIGINT/SIGTERM/SIGHUP too; what a crashed run
// left is removed by the next one. Reuses the engine at DOCKER_HOST or starts a private dockerd.
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { connectDocker, startDockerEngine, type DockerEngine } from '../test/support/docker-engine.ts';
import { Teardown } from './e2e-deploy/teardown.ts';
import { describeFootprint, removeRunFootprint } from './e2e-vpn/footprint.ts';
import { formatReport } from './e2e-vpn/report.ts';
import { E2E_VPN_DEFAULTS, e2eVpnUnavailableReason, runE2eVpn, type E2eVpnOptions } from './e2e-vpn/run.ts';

const USAGE = `usage: npm run e2e:vpn -- [options]   (as root)
  --rps R       requests per second through the listener (default ${E2E_VPN_DEFAULTS.ratePerSecond})
  --json FILE   also write the report as JSON to FILE`;

class UsageError extends Error {}

let signalled = false;

function parseArgs(argv: string[]): { options: E2eVpnOptions; json?: string; help: boolean } {
  let options: E2eVpnOptions = E2E_VPN_DEFAULTS;
  let json: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const m = /^--(rps|json)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unknown argument ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '') throw new UsageError(`--${m[1]} needs a value`);
    if (m[1] === 'json') json = value;
    else {
      const rate = Number(value);
      if (!Number.isFinite(rate) || rate <= 0 || rate > 1000) throw new UsageError(`--rps must be a number in (0, 1000], not ${JSON.stringify(value)}`);
      options = { ...options, ratePerSecond: rate };
    }
  }
  return { options, ...(json !== undefined ? { json } : {}), help };
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`e2e:vpn: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  const unavailable = e2eVpnUnavailableReason();
  if (unavailable) {
    console.error(`e2e:vpn: ${unavailable}`);
    return 2;
  }
  const log = (line: string) => console.error(`[e2e:vpn] ${line}`);
  const teardown = new Teardown();
  const abort = new AbortController();
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
      const engine = await starting.catch(() => undefined);
      if (engine) {
        const after = await removeRunFootprint(connectDocker(engine.dockerHost), process.pid).catch((error: unknown) => ({ left: [], problems: [String(error)] }));
        log(after.left.length === 0 ? 'cleanup: nothing of this run is left' : `cleanup: removed what was left:\n${describeFootprint(after.left)}`);
        for (const problem of after.problems) log(`cleanup: ${problem}`);
      }
      await starting.then((e) => e.stop()).catch((error: unknown) => log(`cleanup: engine: ${String(error)}`));
      process.exit(128 + (os.constants.signals[signal] ?? 1));
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  const engine = await starting;
  try {
    process.env.DOCKER_HOST = engine.dockerHost;
    const report = await runE2eVpn({ ...parsed.options, log }, { docker: connectDocker(engine.dockerHost), teardown, signal: abort.signal });
    console.log(formatReport(report).join('\n'));
    if (parsed.json !== undefined) {
      writeFileSync(parsed.json, `${JSON.stringify(report, null, 2)}\n`);
      log(`report written to ${parsed.json}`);
    }
    return report.passed ? 0 : 1;
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
    console.error(`e2e:vpn failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 2;
  },
);
