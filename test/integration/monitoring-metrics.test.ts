// The Grafana dashboard and the alerting rules name only metrics the agent serves: a real agent
// runs with --metrics-address and every metric name in monitoring/grafana-dashboard.json's and
// monitoring/alerts.yaml's expressions must appear in its /metrics.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../support/agent-world.ts';
import { freeTcpPort } from '../support/ecs-container.ts';
import { repoPath } from '../../scripts/generate/generated-files.ts';

// What may appear in an expression and is no metric of the agent: PromQL's functions, keywords
// and the labels the panels group by; `up` is the series Prometheus adds to every scrape.
const NOT_METRICS = new Set(['sum', 'min', 'max', 'avg', 'by', 'rate', 'increase', 'time', 'and', 'or', 'instance', 'job', 'action', 'code', 'class', 'answer', 'up']);

/** Metric names in PromQL expressions: identifiers outside label matchers, ranges and `$variables`. */
function metricNames(expressions: readonly string[]): string[] {
  const names = expressions.flatMap((e) => e.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/\$\w+/g, '').match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []);
  return [...new Set(names)].filter((n) => !NOT_METRICS.has(n)).sort();
}

const dashboard = JSON.parse(readFileSync(repoPath('monitoring/grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
const dashboardExpressions = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
const alertExpressions = [...readFileSync(repoPath('monitoring/alerts.yaml'), 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1] ?? '');

let world: World;
let served: Set<string>;

beforeAll(async () => {
  world = await createWorld({ groups: ['mon-a'] });
  const port = await freeTcpPort();
  const agent = world.startAgent({ ECS_ANYWHERE_LB_METRICS_ADDRESS: `127.0.0.1:${port}` });
  await agent.ready();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  // Families (TYPE lines, also those with no sample yet) and sample names (a summary's _sum and _count).
  served = new Set([...text.matchAll(/^# TYPE (\S+) /gm), ...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1] ?? ''));
});

afterAll(async () => {
  await world?.close();
});

describe('monitoring', () => {
  it('the dashboard covers what the issue asks for', () => {
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(9);
    expect(metricNames(dashboardExpressions)).toEqual(expect.arrayContaining([
      'ecs_anywhere_lb_api_calls_total', 'ecs_anywhere_lb_api_throttled_total', 'ecs_anywhere_lb_api_pace_per_second',
      'ecs_anywhere_lb_drift_repair_interval_seconds', 'ecs_anywhere_lb_reconcile_failures_total',
      'ecs_anywhere_lb_state_write_failures_total', 'ecs_anywhere_lb_registrations_held', 'ecs_anywhere_lb_readiness_answers_total',
    ]));
    expect(alertExpressions).toHaveLength(6);
  });

  it.each([['the dashboard', dashboardExpressions], ['the alerts', alertExpressions]])('%s names only metrics the running agent serves', (_, expressions) => {
    const names = metricNames(expressions);
    expect(names.length).toBeGreaterThan(3);
    expect(names.filter((n) => !served.has(n))).toEqual([]);
  });

  it('a name the agent does not serve is caught', () => {
    expect(metricNames(['rate(ecs_anywhere_lb_no_such_total{job="x"}[5m])']).filter((n) => !served.has(n))).toEqual(['ecs_anywhere_lb_no_such_total']);
  });
});
