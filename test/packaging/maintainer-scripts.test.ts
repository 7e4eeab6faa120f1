// The packages' maintainer scripts (made from packaging/ as scripts/build-packages.ts makes
// them, in a test copy whose ROOT is a scratch directory), run with sh with stand-ins that
// record their calls: systemctl, deb-systemd-helper, deb-systemd-invoke and the agent binary.
// Tables: what dpkg or rpm passes, whether systemd runs, whether agent.env is valid -> the calls.
// The shipped scripts read no variable of their own: a check below fails if one names any
// environment variable but PATH and dpkg's DPKG_ROOT.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { maintainerScripts, unitFiles, type Flavour } from '../../scripts/packages/maintainer-scripts.ts';
import { environmentReads } from '../support/shell-environment.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const base = mkdtempSync(path.join(tmpdir(), 'ecslb-maintainer-scripts-'));
const UNITS = ['ecs-anywhere-lb-agent.service'];
const PACKAGING = path.join(REPO, 'packaging');
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

const RECORDER = (name: string) => `#!/bin/sh
echo "${name} $*" >> "$(dirname "$0")/../calls.log"
[ "$1" = "--quiet" ] && [ "$2" = "was-enabled" ] && exit 0
exit 0
`;

/** The agent stand-in finds its scratch root from its own path (the scripts run it with env -i). */
const AGENT = `#!/bin/sh
root=\${0%/usr/bin/ecs-anywhere-lb-agent}
echo "agent $*" | sed "s#$root##g" >> "$root/calls.log"
case "$1" in
  config) [ -e "$root/control/valid" ] ;;
  deregister) exit "$(cat "$root/control/deregister-exit" 2>/dev/null || echo 0)" ;;
esac
`;

interface Case {
  name: string;
  flavour: Flavour;
  script: string;
  args: string[];
  systemd: boolean;
  valid: boolean;
  /** Earlier state: a recorded state file, the marker a "dpkg -r" leaves, a failing deregister. */
  state?: boolean;
  marker?: boolean;
  deregisterFails?: boolean;
  calls: string[];
  output?: RegExp;
}

function run(c: Case) {
  const root = path.join(base, `case-${++n}`);
  const stubs = path.join(root, 'stubs');
  mkdirSync(stubs, { recursive: true });
  mkdirSync(path.join(root, 'control'));
  for (const tool of ['systemctl', 'deb-systemd-helper', 'deb-systemd-invoke']) {
    writeFileSync(path.join(stubs, tool), RECORDER(tool));
    chmodSync(path.join(stubs, tool), 0o755);
  }
  mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  writeFileSync(path.join(root, 'usr/bin/ecs-anywhere-lb-agent'), AGENT);
  chmodSync(path.join(root, 'usr/bin/ecs-anywhere-lb-agent'), 0o755);
  mkdirSync(path.join(root, 'etc/ecs-anywhere-lb-agent'), { recursive: true });
  writeFileSync(path.join(root, 'etc/ecs-anywhere-lb-agent/agent.env'), '# test\n');
  if (c.systemd) mkdirSync(path.join(root, 'run/systemd/system'), { recursive: true });
  if (c.valid) writeFileSync(path.join(root, 'control/valid'), '');
  if (c.deregisterFails) writeFileSync(path.join(root, 'control/deregister-exit'), '1');
  const stateDir = path.join(root, 'var/lib/ecs-anywhere-lb-agent');
  mkdirSync(stateDir, { recursive: true });
  if (c.state) writeFileSync(path.join(stateDir, 'state.json'), '{}');
  if (c.marker) writeFileSync(path.join(stateDir, '.package-removed'), '');
  const file = path.join(root, c.script);
  writeFileSync(file, maintainerScripts(c.flavour, PACKAGING, UNITS, root)[c.script] as string);
  const r = spawnSync('sh', [file, ...c.args], { encoding: 'utf8', env: { PATH: `${stubs}:/usr/bin:/bin` } });
  const log = path.join(root, 'calls.log');
  const calls = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : [];
  return { status: r.status, output: r.stdout + r.stderr, calls, stateDir };
}

const U = 'ecs-anywhere-lb-agent.service';
const VALIDATE = 'agent config validate --config /etc/ecs-anywhere-lb-agent/agent.env';
const DEREGISTER = 'agent deregister --all --config /etc/ecs-anywhere-lb-agent/agent.env --state-dir /var/lib/ecs-anywhere-lb-agent';
const DSH_ENABLE = [`deb-systemd-helper unmask ${U}`, `deb-systemd-helper --quiet was-enabled ${U}`, `deb-systemd-helper enable ${U}`];

const CASES: Case[] = [
  // .deb: dpkg's words.
  { name: 'deb first install, systemd running, agent.env not set yet: enabled, not started, says what to set', flavour: 'deb', script: 'postinst', args: ['configure', ''], systemd: true, valid: false,
    calls: [...DSH_ENABLE, 'systemctl --system daemon-reload', VALIDATE], output: /installed and enabled, not started: [\s\S]* config set --config \/etc\/ecs-anywhere-lb-agent\/agent.env ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=/ },
  { name: 'deb first install with a valid agent.env: enabled and started', flavour: 'deb', script: 'postinst', args: ['configure', ''], systemd: true, valid: true,
    calls: [...DSH_ENABLE, 'systemctl --system daemon-reload', VALIDATE, `deb-systemd-invoke start ${U}`] },
  { name: 'deb first install without a running systemd (container, chroot): enabled, nothing started', flavour: 'deb', script: 'postinst', args: ['configure', ''], systemd: false, valid: true,
    calls: [...DSH_ENABLE, VALIDATE] },
  { name: 'deb upgrade: a running agent restarts (and keeps its targets); nothing is deregistered', flavour: 'deb', script: 'postinst', args: ['configure', '0.1.0'], systemd: true, valid: true,
    calls: [...DSH_ENABLE, 'systemctl --system daemon-reload', VALIDATE, `deb-systemd-invoke try-restart ${U}`] },
  { name: 'deb upgrade with an invalid agent.env: the running agent is left alone', flavour: 'deb', script: 'postinst', args: ['configure', '0.1.0'], systemd: true, valid: false,
    calls: [...DSH_ENABLE, 'systemctl --system daemon-reload', VALIDATE], output: /not restarted: .* is not valid/ },
  { name: 'deb reinstall after "dpkg -r" (old version passed, marker left): a first install again', flavour: 'deb', script: 'postinst', args: ['configure', '0.1.0'], systemd: true, valid: true, marker: true,
    calls: [...DSH_ENABLE, 'systemctl --system daemon-reload', VALIDATE, `deb-systemd-invoke start ${U}`] },
  { name: 'deb prerm on upgrade: nothing (the agent runs on, its targets stay)', flavour: 'deb', script: 'prerm', args: ['upgrade', '0.1.1'], systemd: true, valid: true, calls: [] },
  { name: 'deb prerm on removal: stop, then deregister', flavour: 'deb', script: 'prerm', args: ['remove'], systemd: true, valid: true,
    calls: [`deb-systemd-invoke stop ${U}`, VALIDATE, DEREGISTER] },
  { name: 'deb prerm on removal without systemd: deregister only', flavour: 'deb', script: 'prerm', args: ['remove'], systemd: false, valid: true, calls: [VALIDATE, DEREGISTER] },
  { name: 'deb prerm on removal when deregistering fails: removal goes on, with a warning', flavour: 'deb', script: 'prerm', args: ['remove'], systemd: true, valid: true, deregisterFails: true,
    calls: [`deb-systemd-invoke stop ${U}`, VALIDATE, DEREGISTER], output: /warning: deregister --all failed/ },
  { name: 'deb prerm on removal, agent.env never made valid, no state: nothing to deregister, quietly', flavour: 'deb', script: 'prerm', args: ['remove'], systemd: false, valid: false, calls: [VALIDATE] },
  { name: 'deb prerm on removal, agent.env invalid but state recorded: a warning', flavour: 'deb', script: 'prerm', args: ['remove'], systemd: false, valid: false, state: true,
    calls: [VALIDATE], output: /not deregistering: .* targets recorded in .* may stay registered/ },
  { name: 'deb postrm remove: masked until purge', flavour: 'deb', script: 'postrm', args: ['remove'], systemd: true, valid: true,
    calls: ['systemctl --system daemon-reload', `deb-systemd-helper mask ${U}`] },
  { name: 'deb postrm purge: no trace in systemd\'s state', flavour: 'deb', script: 'postrm', args: ['purge'], systemd: false, valid: true,
    calls: [`deb-systemd-helper purge ${U}`, `deb-systemd-helper unmask ${U}`] },
  // .rpm: the number of instances left.
  { name: 'rpm first install: enabled, started when valid', flavour: 'rpm', script: 'post', args: ['1'], systemd: true, valid: true,
    calls: [`systemctl enable ${U}`, 'systemctl daemon-reload', VALIDATE, `systemctl start ${U}`] },
  { name: 'rpm upgrade: not re-enabled (the administrator\'s choice stays), restarted if running', flavour: 'rpm', script: 'post', args: ['2'], systemd: true, valid: true,
    calls: ['systemctl daemon-reload', VALIDATE, `systemctl try-restart ${U}`] },
  { name: 'rpm preun on upgrade: nothing', flavour: 'rpm', script: 'preun', args: ['1'], systemd: true, valid: true, calls: [] },
  { name: 'rpm preun on erase: stop, deregister, disable', flavour: 'rpm', script: 'preun', args: ['0'], systemd: true, valid: true,
    calls: [`systemctl stop ${U}`, VALIDATE, DEREGISTER, `systemctl disable ${U}`] },
  { name: 'rpm postun on erase: daemon-reload', flavour: 'rpm', script: 'postun', args: ['0'], systemd: true, valid: true, calls: ['systemctl daemon-reload'] },
  { name: 'rpm postun on upgrade: nothing', flavour: 'rpm', script: 'postun', args: ['1'], systemd: true, valid: true, calls: [] },
];

describe('maintainer scripts', () => {
  it.each(CASES)('$name', (c) => {
    const r = run(c);
    expect(r.status, r.output).toBe(0);
    expect(r.calls).toEqual(c.calls);
    if (c.output) expect(r.output).toMatch(c.output);
  });

  it('a deb purge removes the agent\'s state; a removal keeps it, with the reinstall marker', () => {
    const purge = run({ name: '', flavour: 'deb', script: 'postrm', args: ['purge'], systemd: false, valid: true, state: true, calls: [] });
    expect(existsSync(purge.stateDir)).toBe(false);
    const remove = run({ name: '', flavour: 'deb', script: 'prerm', args: ['remove'], systemd: false, valid: true, state: true, calls: [] });
    expect(existsSync(path.join(remove.stateDir, 'state.json'))).toBe(true);
    expect(existsSync(path.join(remove.stateDir, '.package-removed'))).toBe(true);
  });

  it.each<[Flavour, string[]]>([['deb', ['postinst', 'prerm', 'postrm']], ['rpm', ['post', 'preun', 'postun']]])('%s: every script is POSIX sh (sh -n) with set -e', (flavour, names) => {
    const scripts = maintainerScripts(flavour, PACKAGING, UNITS);
    expect(Object.keys(scripts).sort()).toEqual([...names].sort());
    for (const [name, text] of Object.entries(scripts)) {
      const file = path.join(base, `syntax-${flavour}-${name}`);
      writeFileSync(file, text);
      expect(spawnSync('sh', ['-n', file]).status, name).toBe(0);
      expect(text.startsWith('#!/bin/sh\n'), name).toBe(true);
      expect(text).toContain('\nset -e\n');
    }
  });

  it.each<Flavour>(['deb', 'rpm'])('%s: the shipped scripts read no environment variable but PATH and DPKG_ROOT', (flavour) => {
    for (const [name, text] of Object.entries(maintainerScripts(flavour, PACKAGING, unitFiles(path.join(REPO, 'systemd'))))) {
      expect(environmentReads(text), name).toEqual(flavour === 'deb' ? ['DPKG_ROOT', 'PATH'] : ['PATH']);
      expect(text, name).not.toMatch(/ECSLB_|TEST/);
    }
  });

  it('on removal the agent stops first, then the units it requires', () => {
    const root = path.join(base, 'stop-order');
    const stubs = path.join(root, 'stubs');
    mkdirSync(path.join(root, 'run/systemd/system'), { recursive: true });
    mkdirSync(stubs, { recursive: true });
    writeFileSync(path.join(stubs, 'deb-systemd-invoke'), RECORDER('deb-systemd-invoke'));
    chmodSync(path.join(stubs, 'deb-systemd-invoke'), 0o755);
    const file = path.join(root, 'prerm');
    writeFileSync(file, maintainerScripts('deb', PACKAGING, ['a-helper.socket', U, 'z-helper.service'], root).prerm as string);
    const r = spawnSync('sh', [file, 'remove'], { encoding: 'utf8', env: { PATH: `${stubs}:/usr/bin:/bin` } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'calls.log'), 'utf8').trim().split('\n')).toEqual([
      `deb-systemd-invoke stop ${U}`, 'deb-systemd-invoke stop a-helper.socket', 'deb-systemd-invoke stop z-helper.service',
    ]);
  });

  it('every unit of systemd/ is enabled by the scripts, and the check above sees a test-only variable', () => {
    const units = unitFiles(path.join(REPO, 'systemd'));
    expect(units).toContain('ecs-anywhere-lb-agent.service');
    expect(maintainerScripts('deb', PACKAGING, units).postinst).toContain(`UNITS='${units.join(' ')}'`);
    expect(environmentReads('ROOT=${ECSLB_PACKAGE_TEST_ROOT:-}\necho "$ROOT $PATH"')).toEqual(['ECSLB_PACKAGE_TEST_ROOT', 'PATH']);
  });

  const shellcheck = spawnSync('shellcheck', ['--version']);
  it.skipIf(shellcheck.error !== undefined || shellcheck.status !== 0)('shellcheck passes on every generated script', () => {
    for (const flavour of ['deb', 'rpm'] as const) {
      for (const [name, text] of Object.entries(maintainerScripts(flavour, PACKAGING, unitFiles(path.join(REPO, 'systemd'))))) {
        const file = path.join(base, `sc-${flavour}-${name}`);
        writeFileSync(file, text);
        const r = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' });
        expect(r.status, `${flavour} ${name}: ${r.stdout}`).toBe(0);
      }
    }
  });
});
