// The target health state machine of the local ELBv2 endpoint, as data tables.
import { describe, expect, it } from 'vitest';
import { newHealthProgress, nextHealth } from '../support/local-elbv2/health-state.ts';
import type { HealthProgress, ProbeResult } from '../support/local-elbv2/health-state.ts';

const OK: ProbeResult = { ok: true };
const CODE_500: ProbeResult = { ok: false, reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [500]' };
const TIMEOUT: ProbeResult = { ok: false, reason: 'Target.Timeout', description: 'Request timed out' };
const THRESHOLDS = { healthy: 3, unhealthy: 2 };

function run(results: readonly ProbeResult[], start: HealthProgress = newHealthProgress()): Array<string> {
  const states: string[] = [];
  let progress = start;
  for (const result of results) {
    progress = nextHealth(progress, result, THRESHOLDS);
    states.push(progress.status.reason ? `${progress.status.state}/${progress.status.reason}` : progress.status.state);
  }
  return states;
}

describe('nextHealth', () => {
  it('starts as initial / Elb.RegistrationInProgress', () => {
    expect(newHealthProgress().status).toEqual({
      state: 'initial',
      reason: 'Elb.RegistrationInProgress',
      description: 'Target registration is in progress',
    });
  });

  it.each<[string, ProbeResult[], string[]]>([
    ['one pass makes an initial target healthy', [OK], ['healthy']],
    ['initial failures below the threshold keep it initial', [CODE_500], ['initial/Elb.InitialHealthChecking']],
    ['initial reaches unhealthy at the unhealthy threshold', [CODE_500, TIMEOUT], ['initial/Elb.InitialHealthChecking', 'unhealthy/Target.Timeout']],
    ['a healthy target tolerates one failure', [OK, CODE_500, OK], ['healthy', 'healthy', 'healthy']],
    ['a healthy target turns unhealthy after the threshold', [OK, CODE_500, CODE_500], ['healthy', 'healthy', 'unhealthy/Target.ResponseCodeMismatch']],
    [
      'an unhealthy target needs the healthy threshold in a row to recover',
      [CODE_500, CODE_500, OK, OK, CODE_500, OK, OK, OK],
      [
        'initial/Elb.InitialHealthChecking',
        'unhealthy/Target.ResponseCodeMismatch',
        'unhealthy/Target.ResponseCodeMismatch',
        'unhealthy/Target.ResponseCodeMismatch',
        'unhealthy/Target.ResponseCodeMismatch',
        'unhealthy/Target.ResponseCodeMismatch',
        'unhealthy/Target.ResponseCodeMismatch',
        'healthy',
      ],
    ],
    ['an unhealthy target reports the latest failure reason', [CODE_500, CODE_500, TIMEOUT], ['initial/Elb.InitialHealthChecking', 'unhealthy/Target.ResponseCodeMismatch', 'unhealthy/Target.Timeout']],
  ])('%s', (_name, results, expected) => {
    expect(run(results)).toEqual(expected);
  });
});
