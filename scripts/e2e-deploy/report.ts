/** The e2e:deploy report as text: a summary table per variant, then one line per deployment. */
import type { DeploymentReport, E2eDeployReport, FailureCounts, VariantReport } from './run.ts';

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** `502 lb: 12, ECONNRESET: 3` (largest first), or `-`. */
export function formatFailures(failures: FailureCounts): string {
  const entries = Object.entries(failures).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? '-' : entries.map(([k, n]) => `${k}: ${n}`).join(', ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** `min / median / max` of the deployments' durations in seconds. */
export function durationSummary(deployments: readonly DeploymentReport[]): string {
  if (deployments.length === 0) return '-';
  const d = deployments.map((x) => x.durationMs);
  return `${seconds(Math.min(...d))} / ${seconds(median(d))} / ${seconds(Math.max(...d))}`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}

function variantLabel(run: VariantReport): string {
  return run.variant === 'gated' ? 'with the gate' : 'without (baseline)';
}

/** The report as lines of text (Markdown tables, so they paste into the README). */
export function formatReport(report: E2eDeployReport): string[] {
  const o = report.options;
  const lines: string[] = [];
  lines.push(
    `${o.deployments} rolling deployments per run of a ${o.desiredCount}-task service (minimumHealthyPercent ${o.minimumHealthyPercent}, maximumPercent ${o.maximumPercent}), ` +
      `${o.ratePerSecond} req/s through a listener with a ${seconds(o.propagationDelayMs)} s propagation delay; app grace ${o.graceSeconds} s after SIGTERM, stopTimeout ${o.stopTimeoutSeconds} s; ` +
      `container healthCheck every ${seconds(o.healthCheck.intervalMs ?? 30_000)} s; target group health check ${o.targetGroup.healthCheckIntervalSeconds} s x ${o.targetGroup.healthyThresholdCount}, deregistration delay ${o.targetGroup.deregistrationDelaySeconds} s.`,
  );
  for (const r of report.runs) {
    const labels = Object.entries(r.taskDefinition.dockerLabels).map(([k, v]) => (k.endsWith('target-group-arn') ? k : `${k}=${v}`));
    lines.push(`${variantLabel(r)}: dockerLabels ${labels.join(', ')}; healthCheck ${r.taskDefinition.healthCheck}`);
  }
  lines.push('');
  lines.push(
    ...table(
      ['run', 'deployments', 'requests sent', 'ok', 'failed', 'failed by status / error', 'skipped', 'routed fail-open', 'deployment s (min / median / max)'],
      report.runs.map((r) => [
        variantLabel(r),
        String(r.deployments.length),
        String(r.sent),
        String(r.ok),
        String(r.failed),
        formatFailures(r.failures),
        String(r.skipped),
        String(r.failOpen),
        durationSummary(r.deployments),
      ]),
    ),
  );
  const most = Math.max(0, ...report.runs.map((r) => r.deployments.length));
  if (most > 0) {
    lines.push('');
    lines.push(
      ...table(
        ['#', ...report.runs.flatMap((r) => [`${r.variant} s`, `${r.variant} failed`, `${r.variant} fail-open`])],
        Array.from({ length: most }, (_, i) => [
          String(i + 1),
          ...report.runs.flatMap((r) => {
            const d = r.deployments[i];
            if (!d) return ['', '', ''];
            return [seconds(d.durationMs), d.failed === 0 ? '0' : `${d.failed} (${formatFailures(d.failures)})`, String(d.failOpen)];
          }),
        ]),
      ),
    );
  }
  for (const r of report.runs) if (r.error) lines.push('', `${r.variant}: did not finish: ${r.error}`);
  const failOpen = report.runs.filter((r) => r.failOpen > 0);
  if (failOpen.length > 0) {
    lines.push(
      '',
      `routed fail-open: requests the listener sent while no target in its view was healthy, i.e. to targets no load balancer health check had passed yet (here: \`initial\` ones) ` +
        `(${failOpen.map((r) => `${r.variant}: ${r.failOpen}`).join(', ')}). The local listener fails open to \`initial\` targets; ` +
        'if ALB sends no new request to them (the AWS Load Balancer Controller documents "only targets in Initial or Draining state; this results in service outage"), each of these is a 503 instead.',
    );
  }
  for (const note of report.notes) lines.push('', `note: ${note}`);
  lines.push('', `longest stall of the process running the load and the listener: ${report.runs.map((r) => `${r.variant} ${r.loadProcessStallMs} ms`).join(', ')}`);
  const gated = report.runs.some((r) => r.variant === 'gated');
  if (!gated) lines.push('', 'no gated run');
  else lines.push('', report.gatedClean ? 'gated run: no request failed or skipped' : 'gated run: FAILED (requests failed or skipped, or the run did not finish)');
  return lines;
}
