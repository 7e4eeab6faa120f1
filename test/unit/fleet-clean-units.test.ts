// The optional fleet-clean timer and service (systemd/fleet-clean/, not installed by default):
// `systemd-analyze verify` finds nothing wrong (with ExecStart= pointed at an existing binary,
// as scripts/check-systemd.sh does for the agent's unit), the sandbox stays "OK", and the
// command it runs is one the agent's own command line accepts as `fleet clean --apply`.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../agent/cli.ts';

const DIR = resolve(import.meta.dirname, '../../systemd/fleet-clean');
const SERVICE = 'ecs-anywhere-lb-fleet-clean.service';
const TIMER = 'ecs-anywhere-lb-fleet-clean.timer';
const work = mkdtempSync(join(tmpdir(), 'ecslb-fleet-units-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const service = readFileSync(join(DIR, SERVICE), 'utf8');
const execStart = /^ExecStart=(.*)$/m.exec(service)?.[1] ?? '';

describe('systemd/fleet-clean', () => {
  it('runs `fleet clean --apply` for the configured cluster and grace', () => {
    const [binary, ...args] = execStart.replace('${FLEET_CLUSTER}', 'edge').replace('${FLEET_GRACE}', '15m').split(/\s+/);
    expect(binary).toBe('/usr/local/bin/ecs-anywhere-lb-agent');
    expect(parseCommandLine(args)).toMatchObject({ command: 'fleet', fleetAction: 'clean', cluster: 'edge', grace: '15m', apply: true });
  });

  it('passes systemd-analyze verify and keeps a sandbox exposure of at most 2.0', () => {
    copyFileSync(join(DIR, TIMER), join(work, TIMER));
    writeFileSync(join(work, SERVICE), service.replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true').replace(/^EnvironmentFile=/m, 'EnvironmentFile=-'));
    const verify = spawnSync('systemd-analyze', ['verify', SERVICE, TIMER], { cwd: work, encoding: 'utf8' });
    expect([verify.status, verify.stdout, verify.stderr]).toEqual([0, '', '']);
    const security = execFileSync('systemd-analyze', ['security', '--offline=true', SERVICE], { cwd: work, encoding: 'utf8' });
    const exposure = Number(/Overall exposure level for \S+: ([0-9.]+)/.exec(security)?.[1]);
    expect(exposure).toBeLessThanOrEqual(2.0);
  });
});
