import { describe, expect, it } from 'vitest';
import { OperationError } from '../../agent/errors.ts';
import type { Log } from '../../agent/log.ts';
import { GroupBackoff } from '../../agent/reconcile/group-backoff.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';

function setup() {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  const log: Log = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => log };
  let now = 1_000_000;
  const g = new GroupBackoff({ log, retry: { baseMs: 1000, capMs: 8000 }, permanentRetryMs: 60_000, now: () => now });
  return { g, lines, advance: (ms: number) => (now += ms) };
}
const throttled = () => new OperationError('RegisterTargets', 'tg/web', 'Throttling', 'throttled', 'Rate exceeded');

describe('GroupBackoff', () => {
  it('backs a group off after a transient error, warns once per outage, and logs the recovery', () => {
    const { g, lines, advance } = setup();
    g.failed(TG, throttled(), 'RegisterTargets 10.8.0.10:1', 'RegisterTargets');
    expect(g.isWaiting(TG)).toBe(true);
    const hint = g.retryHint().retryInMs!;
    expect(hint).toBeGreaterThanOrEqual(500);
    expect(hint).toBeLessThanOrEqual(1000);
    advance(hint);
    expect(g.isWaiting(TG)).toBe(false);
    g.failed(TG, throttled(), 'RegisterTargets 10.8.0.10:1', 'RegisterTargets');
    g.recovered(TG);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'debug', 'info']);
    expect(lines[2]?.message).toBe('ELB calls for tg/web succeed again after 2 failed attempt(s)');
    expect(g.retryHint()).toEqual({});
  });

  it.each([
    // code of a permanent RegisterTargets failure, whether the whole group waits for the periodic run
    ['AccessDenied', true],
    ['TargetGroupNotFound', true],
    ['InvalidTarget', false],
    ['TooManyTargets', false],
    ['ValidationError', false],
  ])('a permanent %s on a write holds the whole group: %s', (code, held) => {
    const { g } = setup();
    g.failed(TG, new OperationError('RegisterTargets', 'tg/web', code, 'permanent', 'no'), 'RegisterTargets x', 'RegisterTargets');
    expect(g.isWaiting(TG)).toBe(held);
  });

  it('logs a permanent error once until the operation works again; an unreadable group waits for the periodic run', () => {
    const { g, lines } = setup();
    const refused = () => new OperationError('RegisterTargets', 'tg/web', 'InvalidTarget', 'permanent', 'no');
    g.failed(TG, refused(), 'RegisterTargets x', 'RegisterTargets');
    g.failed(TG, refused(), 'RegisterTargets x', 'RegisterTargets');
    expect(g.isWaiting(TG)).toBe(false);
    g.succeeded(TG, 'RegisterTargets');
    g.failed(TG, refused(), 'RegisterTargets x', 'RegisterTargets');
    expect(lines.map((l) => l.level)).toEqual(['error', 'debug', 'error']);
    g.failed(TG, new OperationError('DescribeTargetHealth', 'tg/web', 'TargetGroupNotFound', 'permanent', 'gone'), 'describing targets', 'describe');
    expect(g.isWaiting(TG)).toBe(true);
    expect(g.retryHint()).toEqual({ retryInMs: 60_000 });
  });
});
