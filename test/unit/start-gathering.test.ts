// Registrations that wait for siblings created for their group (reconcile/start-gathering.ts),
// as a table: what goes now, what is held (and says so, until when), and how long the pass waits.
import { describe, expect, it } from 'vitest';
import type { DesiredEndpoint } from '../../agent/mapping/desired.ts';
import type { GroupPlan } from '../../agent/reconcile/plan.ts';
import { GATHER_STARTS_MAX_MS, gatherStarts } from '../../agent/reconcile/start-gathering.ts';

const WEB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const API = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const T = 1_000_000;
const ep = (targetGroupArn: string, port: number): DesiredEndpoint => ({ targetGroupArn, port, containerId: `c${port}`, containerName: `app-${port}` });
const starts = (arn: string, ...ports: number[]): GroupPlan => ({ targetGroupArn: arn, register: ports.map((port) => ({ target: { id: '10.8.0.10', port }, endpoint: ep(arn, port) })), deregister: [] });
const stops = (arn: string, ...ports: number[]): GroupPlan => ({ targetGroupArn: arn, register: [], deregister: ports.map((port) => ({ target: { id: '10.8.0.10', port }, why: 'not-desired' as const })) });
const both = (arn: string, start: number, stop: number): GroupPlan => ({ ...starts(arn, start), deregister: stops(arn, stop).deregister });

interface Row {
  plans: GroupPlan[];
  pending: string[];
  since: [string, number][];
  now: number;
  /** Ports sent now per group, registrations then deregistrations. */
  sent: [string, number[], number[]][];
  held: number[];
  waitMs: number | undefined;
  gathering: [string, number][];
}

describe('gatherStarts', () => {
  it.each<[string, Row]>([
    ['a lone start (no sibling created) goes at once', { plans: [starts(WEB, 1)], pending: [], since: [], now: T, sent: [[WEB, [1], []]], held: [], waitMs: undefined, gathering: [] }],
    ['a start with a sibling created for its group waits for it, the full second at first', { plans: [starts(WEB, 1)], pending: [WEB], since: [], now: T, sent: [], held: [1], waitMs: GATHER_STARTS_MAX_MS, gathering: [[WEB, T]] }],
    ['a sibling created for another group holds nothing', { plans: [starts(WEB, 1)], pending: [API], since: [], now: T, sent: [[WEB, [1], []]], held: [], waitMs: undefined, gathering: [] }],
    ['still gathering 400 ms later: the rest of the second', { plans: [starts(WEB, 1, 2)], pending: [WEB], since: [[WEB, T]], now: T + 400, sent: [], held: [1, 2], waitMs: 600, gathering: [[WEB, T]] }],
    ['never longer than a second after the first was held, siblings or not', { plans: [starts(WEB, 1, 2, 3)], pending: [WEB], since: [[WEB, T]], now: T + GATHER_STARTS_MAX_MS, sent: [[WEB, [1, 2, 3], []]], held: [], waitMs: undefined, gathering: [] }],
    ['the last sibling started: everything goes at once', { plans: [starts(WEB, 1, 2, 3)], pending: [], since: [[WEB, T]], now: T + 300, sent: [[WEB, [1, 2, 3], []]], held: [], waitMs: undefined, gathering: [] }],
    ['a stop never waits, not even in a group that gathers starts', { plans: [both(WEB, 1, 9)], pending: [WEB], since: [], now: T, sent: [[WEB, [], [9]]], held: [1], waitMs: GATHER_STARTS_MAX_MS, gathering: [[WEB, T]] }],
    ['stops alone go at once whatever is pending', { plans: [stops(WEB, 9, 10)], pending: [WEB], since: [[WEB, T]], now: T + 10, sent: [[WEB, [], [9, 10]]], held: [], waitMs: undefined, gathering: [] }],
    ['two groups: each by its own siblings', { plans: [starts(WEB, 1), starts(API, 2)], pending: [API], since: [], now: T, sent: [[WEB, [1], []]], held: [2], waitMs: GATHER_STARTS_MAX_MS, gathering: [[API, T]] }],
  ])('%s', (_name, row) => {
    const out = gatherStarts({ now: row.now, plans: row.plans, pendingGroups: new Set(row.pending), since: new Map(row.since) });
    expect(out.plans.map((p) => [p.targetGroupArn, p.register.map((r) => r.target.port), p.deregister.map((d) => d.target.port)])).toEqual(row.sent);
    expect(out.held.map((h) => h.target.port)).toEqual(row.held);
    expect(out.waitMs).toBe(row.waitMs);
    expect([...out.since]).toEqual(row.gathering);
  });

  it('says why and until when each held registration waits', () => {
    const out = gatherStarts({ now: T + 250, plans: [starts(WEB, 1)], pendingGroups: new Set([WEB]), since: new Map([[WEB, T]]) });
    expect(out.held).toEqual([{ targetGroupArn: WEB, change: 'register', target: { id: '10.8.0.10', port: 1 }, why: 'gathering-starts', until: T + GATHER_STARTS_MAX_MS }]);
  });
});
