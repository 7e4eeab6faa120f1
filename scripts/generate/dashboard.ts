/**
 * The Grafana dashboard (monitoring/grafana-dashboard.json) and the list of its panels on the
 * metrics page, from one table: each panel's title, what it tells (Grafana shows it as the
 * panel's description; the page as a list item), its unit and its queries.
 */
import { compactJson } from './compact-json.ts';

interface Panel {
  readonly title: string;
  /** Markdown; links become plain text in Grafana. */
  readonly description: string;
  readonly unit: string;
  /** [legend, PromQL] */
  readonly queries: readonly (readonly [string, string])[];
}

const RATE = '[$__rate_interval]';

const PANELS: readonly Panel[] = [
  {
    title: 'Target changes per second',
    description: 'Registrations and deregistrations per host. Spikes are deployments, VPN reconnects (a move registers and deregisters every target of the host) or a fleet-wide restart; a flat line while containers come and go means the agent is not acting.',
    unit: 'ops',
    queries: [
      ['registered {{instance}}', `sum by (instance) (rate(ecs_anywhere_lb_registrations_total${RATE}))`],
      ['deregistered {{instance}}', `sum by (instance) (rate(ecs_anywhere_lb_deregistrations_total${RATE}))`],
    ],
  },
  {
    title: 'ELB API calls per second by action',
    description: 'RegisterTargets, DeregisterTargets and the Describe calls, SDK retries included. At rest only the drift-repair reads remain; the account\'s budget is 4 change calls/s and 10 Describe calls/s for the whole fleet ([Fleet sizing](fleet-sizing.md)).',
    unit: 'reqps',
    queries: [['{{action}}', `sum by (action) (rate(ecs_anywhere_lb_api_calls_total${RATE}))`]],
  },
  {
    title: 'ELB API errors per second by action and code',
    description: '`AccessDenied` (the policy lacks a group), `TargetGroupNotFound` (a wrong ARN), `Throttling`, `ExpiredToken` (once per credential rotation is normal).',
    unit: 'reqps',
    queries: [['{{action}} {{code}}', `sum by (action, code) (rate(ecs_anywhere_lb_api_errors_total${RATE}))`]],
  },
  {
    title: 'Throttled calls and pace',
    description: 'Calls the account\'s budget refused, per API class, and the lowest pace any host allows itself for that class. The pace halves at each throttled answer down to the host\'s fair share and climbs back as calls go through.',
    unit: 'reqps',
    queries: [
      ['throttled {{class}}', `sum by (class) (rate(ecs_anywhere_lb_api_throttled_total${RATE}))`],
      ['pace {{class}} (lowest host)', 'min by (class) (ecs_anywhere_lb_api_pace_per_second)'],
    ],
  },
  {
    title: 'Drift-repair interval',
    description: 'How often each group is re-read, sized by `--fleet-size`; it should be the same on every host of an account and region.',
    unit: 's',
    queries: [['{{instance}}', 'max by (instance) (ecs_anywhere_lb_drift_repair_interval_seconds)']],
  },
  {
    title: 'Reconcile duration and failures',
    description: 'The mean time of a pass (milliseconds when all is well; seconds mean a slow Docker engine or a slow ELB API) and passes that failed as a whole.',
    unit: 's',
    queries: [
      ['mean duration {{instance}}', `sum by (instance) (rate(ecs_anywhere_lb_reconcile_duration_seconds_sum${RATE})) / sum by (instance) (rate(ecs_anywhere_lb_reconcile_duration_seconds_count${RATE}))`],
      ['failed passes {{instance}}', `sum by (instance) (increase(ecs_anywhere_lb_reconcile_failures_total${RATE}))`],
    ],
  },
  {
    title: 'Since the last completed reconcile',
    description: 'Seconds since the last pass that finished; it should stay under `--reconcile-interval` (60 s).',
    unit: 's',
    queries: [['{{instance}}', 'time() - max by (instance) (ecs_anywhere_lb_last_successful_reconcile_timestamp_seconds)']],
  },
  {
    title: 'State writes failing, and registrations held',
    description: 'Failed writes of the state file, whether the last one failed, and the new targets waiting for a write to succeed (the agent never registers a target it could not record first; see [State and recovery](state.md)).',
    unit: 'short',
    queries: [
      ['failed writes {{instance}}', `sum by (instance) (increase(ecs_anywhere_lb_state_write_failures_total${RATE}))`],
      ['failing now {{instance}}', 'max by (instance) (ecs_anywhere_lb_state_write_failing)'],
      ['held {{instance}}', 'sum by (instance) (ecs_anywhere_lb_registrations_held)'],
    ],
  },
  {
    title: 'Readiness gate answers, and the longest wait',
    description: '`ready` and `waiting` answers per second, and the longest time a gated container has waited. A wait near the task\'s `startPeriod` means ECS is about to count the task unhealthy.',
    unit: 'short',
    queries: [
      ['{{answer}}', `sum by (answer) (rate(ecs_anywhere_lb_readiness_answers_total${RATE}))`],
      ['longest wait (s) {{instance}}', 'max by (instance) (ecs_anywhere_lb_readiness_longest_wait_seconds)'],
    ],
  },
  {
    title: 'Targets owned, and the longest drain',
    description: 'Targets each host owns across its groups, and the longest time a deregistered target took to leave its group.',
    unit: 'short',
    queries: [
      ['owned {{instance}}', 'sum by (instance) (ecs_anywhere_lb_owned_targets)'],
      ['longest drain (s) {{instance}}', 'max by (instance) (ecs_anywhere_lb_drain_seconds_max)'],
    ],
  },
];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const plainText = (markdown: string) => markdown.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1');

/** The dashboard as Grafana imports it. */
export function dashboardJson(): string {
  return `${compactJson({
    title: 'ecs-anywhere-lb-agent',
    uid: 'ecs-anywhere-lb-agent',
    description: 'The ECS Anywhere load balancer agents of a fleet (generated by npm run generate from scripts/generate/dashboard.ts; docs/metrics.md describes each panel).',
    tags: ['ecs-anywhere', 'elbv2'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }] },
    annotations: { list: [] },
    panels: PANELS.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      description: plainText(p.description),
      datasource: DATASOURCE,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: p.queries.map(([legendFormat, expr], j) => ({ refId: String.fromCharCode(65 + j), datasource: DATASOURCE, expr, legendFormat })),
    })),
  })}\n`;
}

/** The metrics page's list of the panels. */
export function panelList(): string {
  return PANELS.map((p) => `- **${p.title}**: ${p.description}`).join('\n');
}
