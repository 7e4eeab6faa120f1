/** `status`: this host's targets in each target group, with health, as text or JSON. */
import { shortTargetGroup } from '../core/arn.ts';
import { errorMessage } from '../errors.ts';
import { isOwned } from '../reconcile/plan.ts';
import { targetKey } from '../core/target-registry.ts';
import { asideFiles, probeWrite } from '../state/state-store.ts';
import { readHeld, type HeldEntry } from '../state/held-file.ts';
import type { Parts } from './parts.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';

export interface StatusTarget {
  id: string;
  port: number;
  state: string;
  reason?: string;
  container?: string;
  taskArn?: string;
}

export interface StatusReport {
  address?: string;
  addressProblem?: string;
  ownedAddresses: string[];
  /** The state file: what is wrong with it, whether it can be written now (a full disk), and the damaged files kept aside. */
  state: { path: string; problem?: string; writeProblem?: string; aside: string[] };
  groups: { targetGroupArn: string; error?: string; targets: StatusTarget[] }[];
  /** The changes the running agent's policies hold for now (absent: no agent runs), as of `at`; `problem`: they cannot be read. */
  held?: { at?: string; changes: readonly HeldEntry[]; problem?: string };
}

/** Gathers the report: state, current address and what each group in play holds on our addresses. */
export async function gatherStatus(parts: Parts): Promise<StatusReport> {
  const state = await parts.reconciler.currentState();
  const choice = await parts.addresses.current();
  const owned = new Set([...state.addresses, ...(choice.address !== undefined ? [choice.address] : [])]);
  const current = new Set(choice.address !== undefined ? [choice.address] : []);
  const groups = [...new Set([...parts.config.allowedTargetGroups, ...state.targets.map((t) => t.targetGroupArn)])].sort();
  const records = new Map(state.targets.map((t) => [targetKey(t.targetGroupArn, t.id, t.port), t]));
  const report: StatusReport = {
    ...(choice.address !== undefined ? { address: choice.address } : {}),
    ...(choice.problem !== undefined ? { addressProblem: choice.problem } : {}),
    ownedAddresses: [...owned],
    state: await stateReport(parts),
    groups: [],
  };
  const held = await readHeld(parts.config.stateDir);
  if (held.report) report.held = { at: held.report.at, changes: held.report.held };
  else if (held.problem !== undefined) report.held = { changes: [], problem: held.problem };
  for (const arn of groups) {
    try {
      const targets = (await parts.registry.describeTargets(arn))
        .filter((t) => isOwned(current, records, arn, t))
        .map((t): StatusTarget => {
          const r = records.get(targetKey(arn, t.id, t.port));
          return {
            id: t.id, port: t.port, state: t.state, ...(t.reason ? { reason: t.reason } : {}),
            ...(r?.containerName ? { container: r.containerName } : {}), ...(r?.taskArn ? { taskArn: r.taskArn } : {}),
          };
        });
      report.groups.push({ targetGroupArn: arn, targets });
    } catch (err) {
      report.groups.push({ targetGroupArn: arn, error: errorMessage(err), targets: [] });
    }
  }
  return report;
}

async function stateReport(parts: Parts): Promise<StatusReport['state']> {
  const writeProblem = await probeWrite(parts.config.stateDir);
  const recovery = parts.store.recovery;
  return {
    path: parts.store.path,
    ...(recovery !== undefined ? { problem: `${recovery.problem}; the agent moves it aside and starts over` } : {}),
    ...(writeProblem !== undefined ? { writeProblem: `cannot write to ${parts.config.stateDir}: ${writeProblem}; the agent registers nothing new until it can` } : {}),
    aside: await asideFiles(parts.config.stateDir),
  };
}

export async function printStatus(parts: Parts, json: boolean): Promise<number> {
  const report = await gatherStatus(parts);
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines = [`address: ${report.address ?? `none (${report.addressProblem ?? 'unknown'})`}`];
    const st = report.state;
    lines.push(`state: ${st.path}${st.problem === undefined && st.writeProblem === undefined ? ' ok' : ''}`);
    for (const p of [st.problem, st.writeProblem]) if (p !== undefined) lines.push(`  problem: ${p}`);
    for (const a of st.aside) lines.push(`  kept aside: ${a}`);
    if (report.groups.length === 0) lines.push('no target groups in play');
    for (const g of report.groups) {
      lines.push(`${shortTargetGroup(g.targetGroupArn)} ${g.targetGroupArn}`);
      if (g.error) lines.push(`  error: ${g.error}`);
      else if (g.targets.length === 0) lines.push('  (no targets of this host)');
      for (const t of g.targets) {
        lines.push(`  ${`${t.id}:${t.port}`.padEnd(21)} ${t.state.padEnd(9)}${t.reason ? ` ${t.reason}` : ''}${t.container ? ` container=${t.container}` : ''}${t.taskArn ? ` task=${t.taskArn}` : ''}`);
      }
    }
    lines.push(...heldLines(report.held));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.groups.some((g) => g.error) ? EXIT_FAILURE : EXIT_OK;
}

/** The held changes, one line each: none when the agent holds nothing (or does not run). */
export function heldLines(held: StatusReport['held']): string[] {
  if (held?.problem !== undefined) return [`held changes: ${held.problem}`];
  if (!held || held.changes.length === 0) return [];
  return [
    `held for now (as of ${held.at}):`,
    ...held.changes.map((h) => `  ${shortTargetGroup(h.targetGroupArn)} ${h.change} ${h.target} ${h.why}${h.until !== undefined ? ` until ${h.until}` : ''}`),
  ];
}
