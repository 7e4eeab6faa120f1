// The chaos soak: a randomized, reproducible (seeded) run of container churn, faults and bad
// input against the real agent process, the real Docker engine and the local ELBv2 endpoint,
// checking that nothing is lost, nothing stale stays and nothing foreign is touched.
//
//   npm run chaos -- [--duration SECONDS] [--seed N] [--json FILE]
//
// Prints the event history as it goes and the report at the end; exits 1 on any violation.
// The parts live in scripts/chaos/ (scenario, oracle, faults, churn, supervisor, world, report).
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { CHAOS_USAGE, ChaosUsageError, parseChaosArgs } from './chaos/options.ts';
import { formatReport } from './chaos/report.ts';
import { runSoak } from './chaos/soak.ts';

async function main(): Promise<number> {
  let options;
  try {
    options = parseChaosArgs(process.argv.slice(2), () => randomInt(0, 2 ** 31));
  } catch (error) {
    if (!(error instanceof ChaosUsageError)) throw error;
    process.stderr.write(`chaos: ${error.message}\n\n${CHAOS_USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(CHAOS_USAGE);
    return 0;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`chaos: seed ${options.seed}, duration ${options.durationSeconds} s (replay with --seed ${options.seed})`);
  const stop = new AbortController();
  // A CI timeout or a terminal closing ends the run the same way as Ctrl-C: the final checks, then the
  // teardown (agent, namespace, tmpfs, containers), so nothing of the run is left behind.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      out(`chaos: ${signal}, finishing with the final checks`);
      stop.abort();
    });
  }
  const { report, history } = await runSoak(options, out, stop.signal);
  out(`\n${formatReport(report)}`);
  if (options.jsonFile) writeFileSync(options.jsonFile, `${JSON.stringify({ ...report, history }, null, 2)}\n`);
  return report.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
