// The packages `npm run package` made (dist/packages), judged as their users meet them, on this
// very machine: dpkg -i installs a working executable, a newer version keeps an edited
// agent.env, dpkg -P leaves no file behind; lintian finds no error; rpm -qpl/-qpi show what the
// .rpm files hold; install.sh --package (through the ECS Anywhere wrapper) installs, configures
// and removes the package. It changes the machine (dpkg as root), so it runs only when
// ECSLB_TEST_PACKAGES=1 (`npm run test:packaging`, which CI runs after `npm run package`).
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILE } from '../../agent/config-file.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(REPO, 'dist/packages');
/** The unit files the packages ship: every *.service and *.socket directly in systemd/. */
const UNITS = readdirSync(path.join(REPO, 'systemd')).filter((f) => /\.(service|socket)$/.test(f)).sort();
const NAME = 'ecs-anywhere-lb-agent';
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const CONFIG = '/etc/ecs-anywhere-lb-agent/agent.env';
const enabled = process.env.ECSLB_TEST_PACKAGES === '1';
if (!enabled) console.warn('[packages test] ECSLB_TEST_PACKAGES is not 1: skipping (npm run test:packaging runs it; it installs packages on this machine)');

interface Built { version: string; packages: { file: string; format: string; arch: string; bytes: number; sha256: string }[] }

function sh(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): SpawnSyncReturns<string> & { output2: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', env: options.env ?? process.env, input: options.input ?? '', maxBuffer: 64 * 1024 * 1024 });
  return Object.assign(r, { output2: `${r.stdout ?? ''}${r.stderr ?? ''}` });
}

function ok(command: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = sh(command, args, env ? { env } : {});
  expect(r.status, `${command} ${args.join(' ')}: ${r.output2}`).toBe(0);
  return r.output2;
}

/** Every path on this machine's root file system that names the agent, outside build and test areas. */
function traces(): string[] {
  const prune = ['/proc', '/sys', '/dev', '/run', '/tmp', '/work', '/var/tmp', '/var/lib/dpkg', '/var/cache', '/var/log', '/var/lib/docker', '/var/lib/containerd', '/root/.npm', '/root/.cache'];
  const args = ['/', '-xdev', '(', ...prune.flatMap((p, i) => [...(i > 0 ? ['-o'] : []), '-path', p]), ')', '-prune', '-o', '-name', `*${NAME}*`, '-print'];
  return sh('find', args).stdout.split('\n').filter((l) => l !== '').sort();
}

const installedVersion = () => sh('dpkg-query', ['-W', '-f=${Version} ${Status}', NAME]).stdout;

describe.skipIf(!enabled)('native packages (dist/packages)', () => {
  let built: Built;
  let work: string;
  let before: string[];
  const file = (format: string, arch: string) => {
    const p = built.packages.find((x) => x.format === format && x.arch === arch);
    if (!p) throw new Error(`dist/packages/packages.json lists no ${format} for ${arch}: run npm run package`);
    return path.join(OUT, p.file);
  };

  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('the packages test installs packages: run it as root');
    for (const tool of ['dpkg', 'dpkg-deb', 'lintian', 'rpm']) if (sh('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: bash scripts/install-ci-deps.sh`);
    if (!existsSync(path.join(OUT, 'packages.json'))) throw new Error('dist/packages/packages.json is missing: run npm run package');
    built = JSON.parse(readFileSync(path.join(OUT, 'packages.json'), 'utf8')) as Built;
    if (installedVersion().includes('installed')) throw new Error(`${NAME} is installed on this machine already (${installedVersion()}): dpkg -P ${NAME} first`);
    work = mkdtempSync(path.join(tmpdir(), 'ecslb-packages-test-'));
    before = traces();
  });

  afterAll(() => {
    if (!enabled || built === undefined) return;
    if (installedVersion().includes('installed')) sh('dpkg', ['-P', NAME]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('makes all four: .deb for amd64 and arm64, .rpm for x86_64 and aarch64, each with its .sha256', () => {
    expect(built.packages.map((p) => `${p.format} ${p.arch}`).sort()).toEqual(['deb amd64', 'deb arm64', 'rpm aarch64', 'rpm x86_64']);
    for (const p of built.packages) {
      const f = path.join(OUT, p.file);
      expect(statSync(f).size).toBe(p.bytes);
      expect(spawnSync('sha256sum', ['--check', '--strict', `${p.file}.sha256`], { cwd: OUT }).status, `${p.file}.sha256`).toBe(0);
      console.log(`[packages] ${p.file}: ${(p.bytes / 1048576).toFixed(1)} MiB`);
    }
  });

  it('lintian reports no error for either .deb (both checked at once: each takes about 25 s)', async () => {
    // Overridden tags (the package's /usr/share/lintian/overrides/ecs-anywhere-lb-agent, each with its reason) are not shown.
    const lintian = (deb: string) => new Promise<{ status: number | null; output: string }>((resolve) => {
      const child = spawn('lintian', ['--fail-on', 'error', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('close', (status) => resolve({ status, output }));
    });
    const results = await Promise.all(['amd64', 'arm64'].map(async (arch) => ({ arch, ...(await lintian(file('deb', arch))) })));
    for (const r of results) {
      const lines = r.output.split('\n').filter((l) => /^[EWIXP]: /.test(l));
      console.log(`[packages] lintian ${r.arch}:\n  ${lines.join('\n  ') || '(nothing)'}`);
      expect(lines.filter((l) => l.startsWith('E: ')), r.arch).toEqual([]);
      expect(r.status, `${r.arch}: ${r.output}`).toBe(0);
    }
  }, 180_000);

  it.each([['x86_64', 'amd64'], ['aarch64', 'arm64']])('rpm -qpl/-qpi/-qpc show what the %s .rpm holds', (arch, debArch) => {
    const rpm = file('rpm', arch);
    expect(ok('rpm', ['-qpl', rpm]).trim().split('\n')).toEqual([
      '/etc/ecs-anywhere-lb-agent',
      CONFIG,
      '/usr/bin/ecs-anywhere-lb-agent',
      // Every unit of systemd/ (the agent's, the docker-proxy's socket and service), as rpm lists them.
      ...UNITS.map((u) => `/usr/lib/systemd/system/${u}`),
      '/usr/share/doc/ecs-anywhere-lb-agent',
      '/usr/share/doc/ecs-anywhere-lb-agent/NODE-LICENSE.gz',
      '/usr/share/doc/ecs-anywhere-lb-agent/changelog.gz',
      '/usr/share/doc/ecs-anywhere-lb-agent/copyright',
      '/usr/share/man/man1/ecs-anywhere-lb-agent.1.gz',
    ]);
    const info = ok('rpm', ['-qpi', rpm]);
    expect(info).toMatch(new RegExp(`^Name\\s+: ${NAME}$`, 'm'));
    expect(info).toMatch(new RegExp(`^Version\\s+: ${built.version}$`, 'm'));
    expect(info).toMatch(new RegExp(`^Architecture: ${arch}$`, 'm'));
    expect(info).toMatch(/^License\s+: Apache-2\.0$/m);
    expect(ok('rpm', ['-qpc', rpm]).trim()).toBe(CONFIG);
    // Same binary as the .deb of that architecture; modes and owners as the files need.
    expect(ok('rpm', ['-qp', '--qf', '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\\n]', rpm])).toContain(`-rw-r----- root:root ${CONFIG}`);
    const scripts = ok('rpm', ['-qp', '--scripts', rpm]);
    for (const s of ['postinstall scriptlet', 'preuninstall scriptlet', 'postuninstall scriptlet']) expect(scripts).toContain(s);
    expect(scripts).toContain('deregister --all --config');
    const requires = ok('rpm', ['-qpR', rpm]);
    expect(requires).toContain('libc.so.6(GLIBC_2.28)(64bit)');
    expect(requires).toContain('libstdc++.so.6(GLIBCXX_3.4.21)(64bit)');
    const deb = ok('dpkg-deb', ['-f', file('deb', debArch), 'Version', 'Architecture', 'Depends']);
    expect(deb).toContain(`Version: ${built.version}`);
    expect(deb).toContain(`Architecture: ${debArch}`);
    expect(deb).toContain('libc6 (>= 2.28)');
  });

  it('dpkg -i installs a working executable; a newer version keeps an edited agent.env; dpkg -P leaves no file behind', () => {
    const deb = file('deb', 'amd64');
    // The same binaries packaged as a newer version, quickly.
    const newer = `${built.version}+test.1`;
    ok(path.join(REPO, 'node_modules/.bin/tsx'), [path.join(REPO, 'scripts/build-packages.ts'), '--arch', 'x64', '--format', 'deb', '--compress-level', '0', '--version', newer, '--out', path.join(work, 'newer')]);
    const newerDeb = path.join(work, 'newer', `${NAME}_${newer}_amd64.deb`);

    const install = ok('dpkg', ['-i', deb]);
    expect(installedVersion()).toBe(`${built.version} install ok installed`);
    expect(install).toContain('installed and enabled, not started');
    expect(ok('/usr/bin/ecs-anywhere-lb-agent', ['--version'])).toMatch(new RegExp(`^${NAME} ${built.version.replace(/\./g, '\\.')} \\(commit `));
    expect(readFileSync(CONFIG, 'utf8')).toBe(DEFAULT_CONFIG_FILE);
    expect((statSync(CONFIG).mode & 0o777).toString(8)).toBe('640');
    expect(sh('dpkg-query', ['-W', '-f=${Conffiles}', NAME]).stdout).toContain(CONFIG);
    expect(existsSync(`/usr/lib/systemd/system/${NAME}.service`)).toBe(true);
    expect(readFileSync(`/usr/lib/systemd/system/${NAME}.service`, 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/ecs-anywhere-lb-agent run$/m);
    if (sh('sh', ['-c', 'command -v systemd-analyze']).status === 0) {
      const verify = sh('systemd-analyze', ['verify', '--man=no', `/usr/lib/systemd/system/${NAME}.service`]);
      expect(verify.output2.trim(), 'systemd-analyze verify of the installed unit').toBe('');
    }

    ok('/usr/bin/ecs-anywhere-lb-agent', ['config', 'set', '--config', CONFIG, `ALLOWED_TARGET_GROUPS=${ARN}`, 'LOG_LEVEL=debug']);
    writeFileSync(CONFIG, `${readFileSync(CONFIG, 'utf8')}# edited by hand\n`);
    const edited = readFileSync(CONFIG);

    const upgrade = ok('dpkg', ['-i', newerDeb]);
    expect(installedVersion()).toBe(`${newer} install ok installed`);
    expect(readFileSync(CONFIG)).toEqual(edited);
    expect(upgrade).not.toContain('deregister');

    // What a running agent leaves: its state. Purge removes it too.
    mkdirSync('/var/lib/ecs-anywhere-lb-agent', { recursive: true });
    writeFileSync('/var/lib/ecs-anywhere-lb-agent/state.json', '{"version":1,"addresses":[],"targets":[]}\n');
    const purge = ok('dpkg', ['-P', NAME]);
    expect(purge).toContain('nothing to deregister');
    expect(installedVersion()).not.toContain('installed');
    expect(traces()).toEqual(before);
  }, 300_000);

  it('the maintainer scripts inside the packages honour no test-only variable and enable every unit of systemd/', () => {
    const units = readdirSync(path.join(REPO, 'systemd')).filter((f) => /\.(service|socket)$/.test(f)).sort();
    const deb = ['postinst', 'prerm', 'postrm'].map((s) => ok('dpkg-deb', ['--info', file('deb', 'amd64'), s])).join('\n');
    const rpm = ok('rpm', ['-qp', '--scripts', file('rpm', 'x86_64')]);
    for (const scripts of [deb, rpm]) {
      expect(scripts).not.toMatch(/ECSLB_|_TEST_|TEST_ROOT/);
      expect(scripts).toContain(`UNITS='${units.join(' ')}'`);
    }
    for (const unit of units) expect(ok('dpkg-deb', ['--contents', file('deb', 'amd64')])).toContain(`./usr/lib/systemd/system/${unit}`);
  });

  it('install.sh --package, through the ECS Anywhere wrapper, installs and configures the package; a re-run changes nothing; --uninstall --purge leaves nothing', () => {
    const deb = file('deb', 'amd64');
    const systemctl = path.join(work, 'fake-systemctl');
    const state = path.join(work, 'systemctl-state');
    mkdirSync(state);
    writeFileSync(systemctl, `#!/bin/sh\necho "$*" >> ${work}/systemctl.log\ncase "$1" in is-active) [ -e ${state}/$3 ] ;; enable) [ "$2" = --now ] && touch ${state}/$3 ;; stop) rm -f ${state}/$2 ;; esac\nexit 0\n`);
    chmodSync(systemctl, 0o755);
    const official = path.join(work, 'ecs-anywhere-install.sh');
    writeFileSync(official, '#!/bin/bash\necho "official $*"\n');
    const env = { ...process.env, ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL: systemctl };

    // npm run package's own output: its sha256 (packages.json) is the one to trust; the stand-in
    // official script carries no Amazon signature.
    const debSha256 = built.packages.find((p) => path.join(OUT, p.file) === deb)?.sha256 ?? '';
    const r = sh('bash', [path.join(REPO, 'installer/ecs-anywhere-install-wrapper.sh'), '--region', 'eu-west-1', '--skip-registration', '--official-script', official,
      '--skip-official-script-signature', '--package', deb, '--sha256', debSha256, '--target-groups', ARN, '--no-check'], { env });
    expect(r.status, r.output2).toBe(0);
    expect(r.stdout).toContain(`+ package ${deb} (deb)`);
    expect(installedVersion()).toBe(`${built.version} install ok installed`);
    const config = readFileSync(CONFIG, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(config).toEqual([`ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`, 'AWS_REGION=eu-west-1']);
    expect(JSON.parse(readFileSync('/etc/ecs-anywhere-lb-agent/iam-policy.json', 'utf8'))).toMatchObject({ Statement: [{ Resource: [ARN] }, { Resource: '*' }, { Action: ['ecs:PutAttributes'] }] });
    // The manifest lists what install.sh placed; the package owns the binary, the unit and agent.env.
    expect(readFileSync('/etc/ecs-anywhere-lb-agent/.installed-files', 'utf8').split('\n').filter((l) => l.startsWith('/'))).toEqual(['/etc/ecs-anywhere-lb-agent/iam-policy.json']);
    expect(readFileSync(path.join(work, 'systemctl.log'), 'utf8')).toContain(`enable --now ${NAME}.service`);

    const snapshot = () => ['agent.env', 'iam-policy.json', '.installed-files'].map((f) => `${f} ${statSync(`/etc/ecs-anywhere-lb-agent/${f}`).mtimeMs} ${readFileSync(`/etc/ecs-anywhere-lb-agent/${f}`, 'utf8').length}`);
    const once = snapshot();
    const again = sh('bash', [path.join(REPO, 'installer/install.sh'), '--package', deb, '--sha256', debSha256, '--target-groups', ARN, '--region', 'eu-west-1', '--no-check'], { env });
    expect(again.status, again.output2).toBe(0);
    expect(again.stdout).toContain(`= package ${NAME} ${built.version} (already installed)`);
    expect(snapshot()).toEqual(once);

    const gone = sh('bash', [path.join(REPO, 'installer/install.sh'), '--uninstall', '--purge'], { env });
    expect(gone.status, gone.output2).toBe(0);
    expect(gone.stdout).toContain('nothing to deregister');
    expect(installedVersion()).not.toContain('installed');
    expect(traces()).toEqual(before);
  }, 300_000);
});
