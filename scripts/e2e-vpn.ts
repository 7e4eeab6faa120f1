// `npm run e2e:vpn -- [--json FILE] [--rps R]`: the load balancer health-checks and serves an
// ECS Anywhere host's container through a real OpenVPN tunnel between network namespaces,
// with installer/install.sh setting up the hosts; see scripts/e2e-vpn/run.ts. Root only.
// Prints the checks and figures, writes the report as JSON with --json; exits 0 when every
// check passed and nothing of the run is left, 1 when not, 2 on a usage or setup error.
// Everything it made is removed on exit, on SIGINT/SIGTERM/SIGHUP too; what a crashed run
// left is removed by the next one. Reuses the engine at DOCKER_HOST or starts a private dockerd.
import { UsageError, exitWhenDone, parseCommandLine, readFlags, withE2eSession, writeJsonReport } from './e2e-deploy/e2e-session.ts';
import { describeFootprint, removeRunFootprint } from './e2e-vpn/footprint.ts';
import { formatReport } from './e2e-vpn/report.ts';
import { E2E_VPN_DEFAULTS, e2eVpnUnavailableReason, runE2eVpn, type E2eVpnOptions } from './e2e-vpn/run.ts';

const USAGE = `usage: npm run e2e:vpn -- [options]   (as root)
  --rps R       requests per second through the listener (default ${E2E_VPN_DEFAULTS.ratePerSecond})
  --json FILE   also write the report as JSON to FILE`;

function parseArgs(argv: string[]): { options: E2eVpnOptions; json?: string; help: boolean } {
  const { values, help } = readFlags(argv, ['rps', 'json']);
  const json = values.get('json');
  if (json === '') throw new UsageError('--json needs a file name');
  const rps = values.get('rps');
  const rate = Number(rps);
  if (rps !== undefined && (rps.trim() === '' || !Number.isFinite(rate) || rate <= 0 || rate > 1000)) throw new UsageError(`--rps must be a number in (0, 1000], not ${JSON.stringify(rps)}`);
  const options: E2eVpnOptions = rps === undefined ? E2E_VPN_DEFAULTS : { ...E2E_VPN_DEFAULTS, ratePerSecond: rate };
  return { options, ...(json !== undefined ? { json } : {}), help };
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine('e2e:vpn', USAGE, () => parseArgs(argv));
  if (typeof parsed === 'number') return parsed;
  const unavailable = e2eVpnUnavailableReason();
  if (unavailable) {
    console.error(`e2e:vpn: ${unavailable}`);
    return 2;
  }
  const { options, json } = parsed;
  return withE2eSession(
    'e2e:vpn',
    async ({ docker, teardown, signal, log }) => {
      const report = await runE2eVpn({ ...options, log }, { docker, teardown, signal });
      console.log(formatReport(report).join('\n'));
      writeJsonReport(json, report, log);
      return report.passed ? 0 : 1;
    },
    // Interrupted: the teardown ran; whatever of the run is still there goes now.
    async ({ docker, log }) => {
      const after = await removeRunFootprint(docker, process.pid);
      log(after.left.length === 0 ? 'cleanup: nothing of this run is left' : `cleanup: removed what was left:\n${describeFootprint(after.left)}`);
      for (const problem of after.problems) log(`cleanup: ${problem}`);
    },
  );
}

exitWhenDone('e2e:vpn', main(process.argv.slice(2)));
