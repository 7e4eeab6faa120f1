/** The fleet report as text for people (`fleet status` without --json, and `fleet clean`'s list). */
import { shortTargetGroup } from '../core/arn.ts';
import type { FleetReport, FleetTarget } from './fleet-facts.ts';
import type { CleanCall } from './clean-plan.ts';
import { formatDuration } from './fleet-diff.ts';

/** Left-aligned columns, two spaces apart. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

const shortTask = (arn: string | undefined) => (arn ? (arn.split('/').pop() ?? arn).slice(0, 12) : '-');
const host = (t: FleetTarget) => (t.instanceId ? `${t.instanceId}${t.instanceName ? `/${t.instanceName}` : ''}` : '-');

/** The report: instances, then each group's targets, then the differences. */
export function formatFleetTable(report: FleetReport): string {
  const lines = [`cluster ${report.cluster}: ${report.instances.length} container instance(s), grace ${formatDuration(report.graceSeconds * 1000)}`];
  lines.push(
    ...columns([
      ['INSTANCE', 'NAME', 'STATUS', 'AGENT', 'ADDRESS'],
      ...report.instances.map((i) => [i.id, i.name ?? '-', i.status, i.agentConnected ? 'connected' : `disconnected${i.disconnectedSince ? ` since ${i.disconnectedSince}` : ''}`, i.address ?? '(no attribute)']),
    ]).map((l) => `  ${l}`),
  );
  for (const g of report.groups) {
    lines.push('', `${shortTargetGroup(g.targetGroupArn)} ${g.targetGroupArn}`);
    if (g.error !== undefined) lines.push(`  error: ${g.error}`);
    else if (g.targets.length === 0) lines.push('  (no targets)');
    else {
      lines.push(
        ...columns([
          ['TARGET', 'HEALTH', 'HOST', 'TASK', 'CONTAINER', 'VERDICT'],
          ...g.targets.map((t) => [`${t.id}:${t.port}`, t.state, host(t), shortTask(t.taskArn), t.container ?? '-', t.verdict]),
        ]).map((l) => `  ${l}`),
      );
    }
  }
  lines.push('');
  if (report.missing.length === 0 && report.stale.length === 0 && report.unattributed.length === 0) lines.push('nothing to fix');
  for (const m of report.missing) lines.push(`missing: ${shortTargetGroup(m.targetGroupArn)} ${m.id}:${m.port} task ${shortTask(m.taskArn)} container ${m.container} on ${m.instanceId}`);
  for (const s of report.stale) lines.push(`stale:   ${shortTargetGroup(s.targetGroupArn)} ${s.id}:${s.port} (${s.why ?? 'stale'})`);
  for (const g of report.groups) for (const t of g.targets) if (t.verdict === 'within-grace' || t.verdict === 'unknown') lines.push(`left alone: ${shortTargetGroup(g.targetGroupArn)} ${t.id}:${t.port} (${t.why ?? t.verdict})`);
  for (const u of report.unattributed) lines.push(`no address attribute: ${u} (its agent does not put ecs-anywhere-lb.address; see --ecs-introspection-endpoint)`);
  return `${lines.join('\n')}\n`;
}

/** What `fleet clean` did or would do, one line per target. */
export function formatCleanCalls(calls: readonly CleanCall[], applied: boolean): string {
  if (calls.length === 0) return 'nothing to deregister\n';
  const verb = applied ? 'deregistered' : 'would deregister';
  return `${calls.flatMap((c) => c.targets.map((t) => `${verb} ${shortTargetGroup(c.targetGroupArn)} ${t.id}:${t.port} (${t.why})`)).join('\n')}\n${applied ? '' : 'dry run: nothing changed; --apply deregisters them\n'}`;
}
