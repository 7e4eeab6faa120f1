/** The e2e:vpn report as text: the checks, then the figures as a Markdown table (pastes into the README). */
import { formatFailures } from '../e2e-deploy/report.ts';
import type { E2eVpnReport, PhaseLoad } from './run.ts';

const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const ms = (v: number | undefined) => (v === undefined ? '-' : `${v} ms`);
const phase = (p: PhaseLoad | undefined) => (p === undefined ? '-' : `${p.failed} of ${p.sent}${p.failed > 0 ? ` (${formatFailures(p.failures)})` : ''}`);

/** The report as lines. */
export function formatReport(r: E2eVpnReport): string[] {
  const lines: string[] = [];
  if (r.network) {
    const n = r.network;
    lines.push(`network ${n.block}: VPC ${n.vpc} (load balancer ${n.loadBalancer}), VPN clients ${n.clientSubnet}: host 1 ${n.host1} then ${n.host1Moved}, host 2 ${n.host2}`);
  }
  if (r.leftoversRemoved.length > 0) lines.push(`removed first, left by crashed earlier runs: ${r.leftoversRemoved.join('; ')}`);
  lines.push('');
  for (const c of r.checks) lines.push(`${c.ok ? 'ok    ' : 'FAILED'} ${c.name}${c.detail ? ` — ${c.detail}` : ''}`);
  const f = r.figures;
  lines.push('');
  lines.push('| what | figure |', '|---|---|');
  const rows: Array<[string, string]> = [
    ['setup (certificates, namespaces, server, endpoint, two installs, tunnels, agents)', s(f.setupMs)],
    ['container started -> healthy target through the tunnel (host 1 / host 2)', `${s(f.host1HealthyMs)} / ${s(f.host2HealthyMs)}`],
    ['probe requests answered (by page)', f.answeredBy ? Object.entries(f.answeredBy).map(([k, v]) => `${k}: ${v}`).join(', ') : '-'],
    ['tunnel stopped -> OpenVPN gone (it tells the server first) / target unhealthy', `${s(f.tunnelStopMs)} / ${s(f.unhealthyMs)}`],
    ['tun device deleted (kernel, ip monitor) -> agent logs its address gone', ms(f.addressGoneLoggedMs)],
    ['requests failed while the tunnel was down (before the health checks noticed)', phase(r.load.tunnelDown)],
    ['tunnel back (new address) -> agent uses it / new target healthy / old target gone', `${s(f.newAddressLoggedMs)} / ${s(f.newTargetHealthyMs)} / ${s(f.oldTargetGoneMs)}`],
    ['requests failed during the move', phase(r.load.move)],
    ['docker stop -> deregistered / drained and gone', `${s(f.deregisteredMs)} / ${s(f.drainedMs)}`],
    ['requests failed during the drain', phase(r.load.drain)],
    ['all requests of the load (failed of sent)', r.load.total ? `${r.load.total.failed} of ${r.load.total.sent}, p50 ${r.load.total.latencyMs.p50} ms, p99 ${r.load.total.latencyMs.p99} ms` : '-'],
    ['total runtime', s(r.totalMs)],
  ];
  for (const [k, v] of rows) lines.push(`| ${k} | ${v} |`);
  if (r.error) lines.push('', `stopped early: ${r.error}`);
  lines.push('', r.passed ? 'e2e:vpn passed' : 'e2e:vpn FAILED');
  return lines;
}
