/**
 * npm run fleet-sim -- [--hosts N] [--groups G] [--hours H] [--seed S] [--scenario NAME|all] [--json FILE]
 *
 * A discrete-event simulation in virtual time of N hosts, each running the agent's real
 * Reconciler, ReconcileLoop, PacedRegistry and ApiPace against one account-wide model of the
 * ELB token buckets and the target groups (scripts/fleet-sim/). Prints a table per scenario
 * and writes the results, time series included, as JSON. `--help` lists every option.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_ELB_API_LIMITS, parseApiLimits } from '../agent/fleet/api-budget.ts';
import { POLICIES, type PolicyName } from './fleet-sim/policies.ts';
import { assumptions, table, toJson } from './fleet-sim/report.ts';
import { MAIN_SCENARIOS, type ScenarioName } from './fleet-sim/scenarios.ts';
import { DEFAULT_PARAMS, defaultConfig, simulate, type SimResult } from './fleet-sim/simulate.ts';

const ALL_SCENARIOS: readonly ScenarioName[] = [...MAIN_SCENARIOS, 'lone', 'shared-start-stop'];

const HELP = `usage: npm run fleet-sim -- [options]
  --hosts N                 hosts in the fleet (default 100)
  --groups G                target groups, shared by every host; each host runs one task per group (default 3)
  --hours H                 length of the steady and restart runs after the rest window (default: 1.2 drift-repair intervals, at least 1 h);
                            the event scenarios run until every host is exact again, at most --max-hours (default 24)
  --seed S                  PRNG seed (default 1)
  --scenario NAME|all       comma-separated: ${ALL_SCENARIOS.join(', ')}, or all (= ${MAIN_SCENARIOS.join(', ')}; default all)
                            (deploy-gated: the same deployment through the readiness gate, ECS waiting for each new task's gate)
  --json FILE               write the results (time series included) as JSON
  --policy NAME             pace policy: ${Object.keys(POLICIES).join(', ')} (default current)
  --account-limits L        the account's ELB buckets, CLASS=RATE:BURST,... (default ${'change=4:20,describe=10:40'})
  --elb-api-limits L        what the agents are told (default: the account's)
  --fleet-size N            --fleet-size of every agent (default: --hosts)
  --rest-min M              minutes at rest before the event (default 30)
  --reconcile-interval S    --reconcile-interval of the agents, seconds (default 60)
  --churn-hours H           mean time between task replacements per host, Poisson (default ${DEFAULT_PARAMS.churnHours})
  --background-churn        churn during deploy and vpn too
  --deploy-per-minute R     ECS task replacements per minute, fleet-wide (default ${DEFAULT_PARAMS.deployPerMinute}: ECS's task launch rate per service)
  --vpn-outage-min M        VPN outage length, minutes (default ${DEFAULT_PARAMS.vpnOutageMs / 60_000})
  --vpn-spread S            reconnects spread over this many seconds (default ${DEFAULT_PARAMS.vpnReconnectSpreadMs / 1000}: OpenVPN connect-retry cap)
  --restart-window S        agents restarted over this many seconds (default ${DEFAULT_PARAMS.restartWindowMs / 1000})
  --bucket S                time-series bucket, seconds (default 10)
  --quiet                   no progress on stderr`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string' },
      groups: { type: 'string' },
      hours: { type: 'string' },
      'max-hours': { type: 'string' },
      seed: { type: 'string' },
      scenario: { type: 'string' },
      json: { type: 'string' },
      policy: { type: 'string' },
      'account-limits': { type: 'string' },
      'elb-api-limits': { type: 'string' },
      'fleet-size': { type: 'string' },
      'rest-min': { type: 'string' },
      'reconcile-interval': { type: 'string' },
      'churn-hours': { type: 'string' },
      'background-churn': { type: 'boolean' },
      'deploy-per-minute': { type: 'string' },
      'vpn-outage-min': { type: 'string' },
      'vpn-spread': { type: 'string' },
      'restart-window': { type: 'string' },
      bucket: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const num = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: "${text}" is not a number`);
    return n;
  };
  const which = values.scenario ?? 'all';
  const scenarios = which === 'all' ? MAIN_SCENARIOS : which.split(',').map((s) => s.trim() as ScenarioName);
  for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) throw new Error(`--scenario: unknown "${s}" (${ALL_SCENARIOS.join(', ')}, all)`);
  const policy = (values.policy ?? 'current') as PolicyName;
  if (!(policy in POLICIES)) throw new Error(`--policy: unknown "${policy}" (${Object.keys(POLICIES).join(', ')})`);
  const accountLimits = values['account-limits'] ? parseApiLimits(values['account-limits']) : DEFAULT_ELB_API_LIMITS;
  const params = {
    ...DEFAULT_PARAMS,
    churnHours: num('churn-hours', values['churn-hours'], DEFAULT_PARAMS.churnHours),
    backgroundChurn: values['background-churn'] === true,
    deployPerMinute: num('deploy-per-minute', values['deploy-per-minute'], DEFAULT_PARAMS.deployPerMinute),
    vpnOutageMs: num('vpn-outage-min', values['vpn-outage-min'], DEFAULT_PARAMS.vpnOutageMs / 60_000) * 60_000,
    vpnReconnectSpreadMs: num('vpn-spread', values['vpn-spread'], DEFAULT_PARAMS.vpnReconnectSpreadMs / 1000) * 1000,
    restartWindowMs: num('restart-window', values['restart-window'], DEFAULT_PARAMS.restartWindowMs / 1000) * 1000,
  };
  const results: SimResult[] = [];
  for (const scenario of scenarios) {
    const config = defaultConfig({
      hosts: num('hosts', values.hosts, 100),
      groups: num('groups', values.groups, 3),
      seed: num('seed', values.seed, 1),
      scenario,
      ...(values.hours !== undefined ? { hours: num('hours', values.hours, 1) } : {}),
      maxHours: num('max-hours', values['max-hours'], 24),
      restMs: num('rest-min', values['rest-min'], 30) * 60_000,
      accountLimits,
      ...(values['elb-api-limits'] ? { agentLimits: parseApiLimits(values['elb-api-limits']) } : {}),
      ...(values['fleet-size'] !== undefined ? { fleetSize: num('fleet-size', values['fleet-size'], 1) } : {}),
      reconcileIntervalMs: num('reconcile-interval', values['reconcile-interval'], 60) * 1000,
      bucketMs: num('bucket', values.bucket, 10) * 1000,
      policy,
      params,
      ...(values.quiet || !process.stderr.isTTY ? {} : { progress: (ms: number) => process.stderr.write(`\r${scenario}: ${(ms / 60_000).toFixed(0)} virtual min   `) }),
    });
    const r = await simulate(config);
    if (!values.quiet) process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}${scenario}: done, ${(r.endMs / 60_000).toFixed(0)} virtual min in ${(r.wallMs / 1000).toFixed(1)} s wall\n`);
    results.push(r);
  }
  console.log(table(results));
  console.log('');
  for (const line of assumptions(results)) console.log(`- ${line}`);
  const violations = results.reduce((n, r) => n + r.paceViolations, 0);
  if (violations > 0) console.log(`! ${violations} call(s) went out while the pace said wait (PacedRegistry would have slept outside virtual time)`);
  if (values.json) {
    writeFileSync(values.json, `${toJson({ command: `npm run fleet-sim -- ${process.argv.slice(2).join(' ')}`, results })}\n`);
    console.log(`\nwrote ${values.json}`);
  }
}

main().catch((err: unknown) => {
  console.error(`fleet-sim: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
