/**
 * installer/install.sh and installer/ecs-anywhere-install-wrapper.sh, run end to end with bash
 * into temporary host trees (--root). Stand-ins: the agent binary is a small shell script that
 * records `check` / `deregister --all` and hands every configuration command (`config ...`,
 * `iam-policy`) to the real agent (the bundle, on this Node), so the installer meets the agent's
 * own rules and messages; the package manager and systemctl are scripts that record their
 * arguments, and the official ecs-anywhere-install.sh records its argv. Tests judge the
 * resulting tree (paths, modes, contents, mtimes), not the scripts' internals. The installer runs
 * from a copy that pins a release key made here with gpg (as `npm run release` pins its own), and
 * every source directory holds a SHA256SUMS signed by it: the checks are real.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTIONS, envName } from '../../agent/config-options.ts';
import { buildConfig, type RawOptions } from '../../agent/config.ts';
import { ConfigError } from '../../agent/errors.ts';
import { releaseKeyScript } from '../../scripts/release/tarballs.ts';
import { ensureAgentBundle } from '../support/agent-process.ts';
import { makeTestSigningKey, writeSignedSums } from '../support/test-signing-key.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUNDLE = ensureAgentBundle();
const KEYS = mkdtempSync(path.join(tmpdir(), 'ecslb-installer-keys-'));
const RELEASE_KEY = makeTestSigningKey(path.join(KEYS, 'release'), 'installer test release key');
const OTHER_KEY = makeTestSigningKey(path.join(KEYS, 'other'), 'installer test other key');
/** installer/ as a release ships it: lib/release-key.sh and keys/ecs-anywhere-lb-agent.gpg pin RELEASE_KEY. */
const INSTALLER_DIR = path.join(KEYS, 'installer');
cpSync(path.join(REPO, 'installer'), INSTALLER_DIR, { recursive: true });
writeFileSync(path.join(INSTALLER_DIR, 'lib/release-key.sh'), releaseKeyScript(RELEASE_KEY.fingerprint));
writeFileSync(path.join(INSTALLER_DIR, 'keys/ecs-anywhere-lb-agent.gpg'), RELEASE_KEY.publicKey());
// A checkout's layout around it: install.sh takes ../systemd/ecs-anywhere-lb-agent.service by default.
cpSync(path.join(REPO, 'systemd'), path.join(KEYS, 'systemd'), { recursive: true });
const INSTALL = path.join(INSTALLER_DIR, 'install.sh');
const WRAPPER = path.join(INSTALLER_DIR, 'ecs-anywhere-install-wrapper.sh');
afterAll(() => rmSync(KEYS, { recursive: true, force: true }));

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const ARN2 = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/fedcba9876543210';
const BIN = 'usr/local/bin/ecs-anywhere-lb-agent';
const UNIT = 'etc/systemd/system/ecs-anywhere-lb-agent.service';
const ENV = 'etc/ecs-anywhere-lb-agent/agent.env';
const POLICY = 'etc/ecs-anywhere-lb-agent/iam-policy.json';
const MANIFEST = 'etc/ecs-anywhere-lb-agent/.installed-files';
const DROPIN = 'etc/systemd/system/ecs-anywhere-lb-agent.service.d/10-vpn.conf';
const VPN_CONF = 'etc/openvpn/client/ecs-anywhere.conf';
const STATE_FILE = 'var/lib/ecs-anywhere-lb-agent/state.json';
const IS_ROOT = process.getuid?.() === 0;

const fakeAgent = (version: string): string => `#!/bin/sh
# stand-in for ecs-anywhere-lb-agent ${version}: the real agent judges the configuration; check and deregister are recorded
case "$1" in
  config|iam-policy) exec '${process.execPath}' '${BUNDLE}' "$@" ;;
esac
echo "${version} $*" >> "$FAKE_AGENT_LOG"
case "$1" in
  --version) echo "ecs-anywhere-lb-agent ${version}" ;;
  check) echo "fake check: configuration ok"; exit "\${FAKE_CHECK_EXIT:-0}" ;;
  deregister) exit "\${FAKE_DEREGISTER_EXIT:-0}" ;;
esac
`;

/** The real agent (the bundle on this Node) as an installable "binary": every command is real. */
const REAL_AGENT = `#!/bin/sh
exec '${process.execPath}' '${BUNDLE}' "$@"
`;

const FAKE_PACKAGE_MANAGER = `#!/bin/sh
echo "$*" >> "$FAKE_PM_LOG"
exit "\${FAKE_PM_EXIT:-0}"
`;

// Records each call; keeps "active" flags so is-active answers like systemd would.
const FAKE_SYSTEMCTL = `#!/bin/sh
echo "$*" >> "$FAKE_SYSTEMCTL_LOG"
case "$1" in
  is-active) [ -e "$FAKE_SYSTEMCTL_STATE/$3" ] ;;
  enable) if [ "$2" = --now ]; then touch "$FAKE_SYSTEMCTL_STATE/$3"; fi ;;
  start|restart) touch "$FAKE_SYSTEMCTL_STATE/$2" ;;
  stop) rm -f "$FAKE_SYSTEMCTL_STATE/$2" ;;
  disable) if [ "$2" = --now ]; then rm -f "$FAKE_SYSTEMCTL_STATE/$3"; fi ;;
esac
`;

const FAKE_OFFICIAL = `#!/bin/bash
# stand-in for ecs-anywhere-install.sh: records argv, NUL-separated
printf '%s\\0' "$@" > "$FAKE_OFFICIAL_ARGV"
exit "\${FAKE_OFFICIAL_EXIT:-0}"
`;

const UNIT_V1 = '[Unit]\nDescription=ecs-anywhere-lb-agent (test v1)\n[Service]\nEnvironmentFile=/etc/ecs-anywhere-lb-agent/agent.env\nExecStart=/usr/local/bin/ecs-anywhere-lb-agent run\nStateDirectory=ecs-anywhere-lb-agent\n[Install]\nWantedBy=multi-user.target\n';
const UNIT_V2 = UNIT_V1.replace('test v1', 'test v2');

const GOOD_VPN = `client
dev tun
proto udp
remote vpn.example.com 1194
remote-cert-tls server
<ca>
-----BEGIN CERTIFICATE-----
MIIBfake
-----END CERTIFICATE-----
</ca>
<cert>
fake
</cert>
<key>
fake
</key>
key-direction 1
<tls-auth>
fake
</tls-auth>
`;

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

interface Result { status: number; stdout: string; stderr: string; output: string }

interface Entry { path: string; kind: 'dir' | 'file' | 'link'; mode: string; uid: number; gid: number; sha256: string; mtimeNs: bigint }

/** Every entry under root (relative paths, sorted), with content hash and nanosecond mtime. */
function snapshot(root: string): Entry[] {
  const out: Entry[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = lstatSync(full, { bigint: true });
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file';
      out.push({
        path: path.relative(root, full) + (kind === 'dir' ? '/' : ''),
        kind,
        mode: (Number(st.mode) & 0o7777).toString(8).padStart(4, '0'),
        uid: Number(st.uid),
        gid: Number(st.gid),
        sha256: kind === 'file' ? sha256(readFileSync(full)) : '',
        mtimeNs: st.mtimeNs,
      });
      if (kind === 'dir') walk(full);
    }
  };
  walk(root);
  return out;
}

/** "path mode" lines: what a tree holds, without contents or times. */
const listing = (root: string): string[] => snapshot(root).map((e) => `${e.path} ${e.mode}`);

const SKELETON = ['etc/systemd/system', 'usr/local/bin', 'var/lib'];
const SKELETON_LISTING = [
  'etc/ 0755', 'etc/systemd/ 0755', 'etc/systemd/system/ 0755',
  'usr/ 0755', 'usr/local/ 0755', 'usr/local/bin/ 0755',
  'var/ 0755', 'var/lib/ 0755',
];

let base = '';
let counter = 0;

/** A workspace: a host tree with the usual directories, stand-in programs and their logs. */
class Fixture {
  readonly dir: string;
  readonly root: string;
  readonly src: string;
  readonly logs: string;
  readonly binary: string;
  readonly binaryV2: string;
  readonly unit: string;
  readonly unitV2: string;
  readonly packageManager: string;
  readonly systemctl: string;

  constructor() {
    counter += 1;
    this.dir = path.join(base, `case-${counter}`);
    this.root = path.join(this.dir, 'root');
    this.src = path.join(this.dir, 'src');
    this.logs = path.join(this.dir, 'logs');
    for (const d of SKELETON) mkdirSync(path.join(this.root, d), { recursive: true });
    for (const d of SKELETON.flatMap((p) => p.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/')))) {
      chmodSync(path.join(this.root, d), 0o755);
    }
    mkdirSync(this.src, { recursive: true });
    mkdirSync(path.join(this.logs, 'systemctl-state'), { recursive: true });
    this.binary = this.writeExecutable('ecs-anywhere-lb-agent-linux-x64', fakeAgent('v1'), true);
    mkdirSync(path.join(this.src, 'v2'));
    this.binaryV2 = this.writeExecutable('v2/ecs-anywhere-lb-agent-linux-x64', fakeAgent('v2'), true);
    this.unit = this.writeFile('unit-v1.service', UNIT_V1);
    this.unitV2 = this.writeFile('unit-v2.service', UNIT_V2);
    this.packageManager = this.writeExecutable('fake-package-manager', FAKE_PACKAGE_MANAGER);
    this.systemctl = this.writeExecutable('fake-systemctl', FAKE_SYSTEMCTL);
  }

  writeFile(name: string, content: string | Buffer): string {
    const file = path.join(this.src, name);
    writeFileSync(file, content);
    return file;
  }

  /** Writes an executable; `signed`: lists its directory in a SHA256SUMS signed by the release key. */
  writeExecutable(name: string, content: string, signed = false): string {
    const file = this.writeFile(name, content);
    chmodSync(file, 0o755);
    if (signed) writeSignedSums(path.dirname(file), RELEASE_KEY);
    return file;
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ECS_ANYWHERE_LB_')) env[k] = v;
    return {
      ...env,
      ECS_ANYWHERE_LB_INSTALL_ARCH: 'x86_64',
      FAKE_AGENT_LOG: this.log('agent'),
      FAKE_PM_LOG: this.log('package-manager'),
      FAKE_SYSTEMCTL_LOG: this.log('systemctl'),
      FAKE_SYSTEMCTL_STATE: path.join(this.logs, 'systemctl-state'),
      FAKE_OFFICIAL_ARGV: this.log('official-argv'),
      ...extra,
    };
  }

  log(name: string): string {
    return path.join(this.logs, `${name}.log`);
  }

  readLog(name: string): string[] {
    const file = this.log(name);
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
  }

  clearLog(name: string): void {
    rmSync(this.log(name), { force: true });
  }

  run(script: string, args: string[], env: Record<string, string> = {}): Result {
    const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', env: this.env(env), cwd: this.dir });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
  }

  /** install.sh into this fixture's tree. */
  install(args: string[], env: Record<string, string> = {}): Result {
    return this.run(INSTALL, ['--root', this.root, ...args], env);
  }

  /** A first install with the v1 binary and unit. */
  installV1(extra: string[] = [], env: Record<string, string> = {}): Result {
    const r = this.install(['--binary', this.binary, '--unit', this.unit, '--target-groups', ARN, ...extra], env);
    expect(r.status, r.output).toBe(0);
    return r;
  }

  read(rel: string): string {
    return readFileSync(path.join(this.root, rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(path.join(this.root, rel));
  }

  /** KEY=VALUE lines of agent.env (comments dropped). */
  config(): string[] {
    return this.read(ENV).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  }
}

function expectOk(r: Result): void {
  expect(r.status, r.output).toBe(0);
}

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'ecs-anywhere-lb-installer-test-'));
});

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('install.sh: fresh install', () => {
  it('installs the binary, unit, config, policy and manifest with the documented modes and contents', () => {
    const f = new Fixture();
    const r = f.installV1(['--vpc-cidr', '10.0.0.0/16', '--log-level', 'debug', '--on-exit', 'deregister', '--drain-timeout', '30s']);

    expect(listing(f.root)).toEqual([
      'etc/ 0755',
      'etc/ecs-anywhere-lb-agent/ 0755',
      'etc/ecs-anywhere-lb-agent/.installed-files 0644',
      'etc/ecs-anywhere-lb-agent/agent.env 0640',
      'etc/ecs-anywhere-lb-agent/iam-policy.json 0644',
      'etc/systemd/ 0755',
      'etc/systemd/system/ 0755',
      'etc/systemd/system/ecs-anywhere-lb-agent.service 0644',
      'usr/ 0755',
      'usr/local/ 0755',
      'usr/local/bin/ 0755',
      'usr/local/bin/ecs-anywhere-lb-agent 0755',
      'var/ 0755',
      'var/lib/ 0755',
    ]);
    if (IS_ROOT) {
      for (const e of snapshot(f.root).filter((x) => x.path.startsWith('etc/ecs-anywhere-lb-agent') || x.path === BIN)) {
        expect([e.path, e.uid, e.gid]).toEqual([e.path, 0, 0]);
      }
    }
    expect(f.read(BIN)).toBe(fakeAgent('v1'));
    expect(f.read(UNIT)).toBe(UNIT_V1);
    expect(f.config()).toEqual([
      `ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`,
      'ECS_ANYWHERE_LB_VPC_CIDR=10.0.0.0/16',
      'ECS_ANYWHERE_LB_ON_EXIT=deregister',
      'ECS_ANYWHERE_LB_DRAIN_TIMEOUT=30s',
      'ECS_ANYWHERE_LB_LOG_LEVEL=debug',
    ]);
    expect(f.read(MANIFEST).split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      '/etc/ecs-anywhere-lb-agent/',
      '/etc/ecs-anywhere-lb-agent/agent.env',
      '/etc/ecs-anywhere-lb-agent/iam-policy.json',
      '/etc/systemd/system/ecs-anywhere-lb-agent.service',
      '/usr/local/bin/ecs-anywhere-lb-agent',
    ]);
    // The check ran against the installed config; its verdict is shown.
    expect(f.readLog('agent')).toEqual([`v1 check --config ${path.join(f.root, ENV)}`]);
    expect(r.stdout).toContain('fake check: configuration ok');
    expect(r.stdout).toContain('Check passed.');
    // The policy is printed with the exact command that attaches it.
    expect(r.stdout).toContain(
      `aws iam put-role-policy --role-name ecsAnywhereInstanceRole --policy-name ecs-anywhere-lb-agent --policy-document file://${path.join(f.root, POLICY)}`,
    );
    expect(r.stdout).toContain(f.read(POLICY));
  });

  it('renders a least-privilege IAM policy: register/deregister on the listed target groups, Describe* on *', () => {
    const f = new Fixture();
    f.installV1(['--target-groups', ARN2, '--iam-role', 'edgeHostsRole']);
    const policy = JSON.parse(f.read(POLICY)) as { Statement: { Action: string[]; Resource: string | string[] }[] };
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
        Resource: [ARN, ARN2],
      }),
      expect.objectContaining({
        Action: [
          'elasticloadbalancing:DescribeTargetHealth',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeTargetGroupAttributes',
          'elasticloadbalancing:DescribeLoadBalancers',
        ],
        Resource: '*',
      }),
      expect.objectContaining({ Action: ['ecs:PutAttributes'], Resource: ['arn:aws:ecs:eu-west-1:123456789012:container-instance/*/*'] }),
    ]);
    expect(f.config()[0]).toBe(`ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN},${ARN2}`);
  });

  it('installs from a release tarball (checked against the signed SHA256SUMS next to it; every unit taken from it)', () => {
    const f = new Fixture();
    const tarball = makeTarball(f, 'x64');
    writeSignedSums(path.dirname(tarball), RELEASE_KEY);
    const r = f.install(['--tarball', tarball, '--target-groups', ARN]);
    expectOk(r);
    expect(r.output).toContain(`signature ok: SHA256SUMS (release key ${RELEASE_KEY.fingerprint})`);
    expect(r.stdout).toContain(`sha256 ok: ${tarball}`);
    expect(f.read(BIN)).toBe(fakeAgent('tarball'));
    expect(f.read(UNIT)).toBe(UNIT_V2);
    expect(f.read('etc/systemd/system/ecs-anywhere-lb-agent-helper.socket')).toBe(HELPER_SOCKET);
    expect(lstatSync(path.join(f.root, 'etc/systemd/system/ecs-anywhere-lb-agent-helper.socket')).mode & 0o777).toBe(0o644);
  });

  it('enables every unit of the tarball, and --uninstall disables and removes them', () => {
    const f = new Fixture();
    const tarball = makeTarball(f, 'x64');
    const r = f.install(['--tarball', tarball, '--sha256', sha256(readFileSync(tarball)), '--target-groups', ARN], { ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL: f.systemctl });
    expectOk(r);
    expect(f.readLog('systemctl')).toEqual(expect.arrayContaining(['enable --now ecs-anywhere-lb-agent-helper.socket', 'enable --now ecs-anywhere-lb-agent.service']));
    f.clearLog('systemctl');
    expectOk(f.install(['--uninstall'], { ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL: f.systemctl }));
    expect(f.readLog('systemctl')).toContain('disable --now ecs-anywhere-lb-agent-helper.socket');
    expect(existsSync(path.join(f.root, 'etc/systemd/system/ecs-anywhere-lb-agent-helper.socket'))).toBe(false);
  });

  it('refuses a tarball whose SHA256SUMS is signed by another key, or not signed', () => {
    const f = new Fixture();
    const tarball = makeTarball(f, 'x64');
    writeSignedSums(path.dirname(tarball), OTHER_KEY);
    const before = snapshot(f.root);
    const other = f.install(['--tarball', tarball, '--target-groups', ARN]);
    expect(other.status, other.output).toBe(1);
    expect(other.stderr).toContain(`refusing ${tarball}: SHA256SUMS.asc is not a valid signature of SHA256SUMS by the release key ${RELEASE_KEY.fingerprint}`);
    rmSync(path.join(path.dirname(tarball), 'SHA256SUMS.asc'));
    const unsigned = f.install(['--tarball', tarball, '--target-groups', ARN]);
    expect(unsigned.status, unsigned.output).toBe(1);
    expect(unsigned.stderr).toContain(`refusing ${tarball}: SHA256SUMS is not signed (no SHA256SUMS.asc next to it)`);
    expect(snapshot(f.root)).toEqual(before);
  });

  it('installs by running install.sh from an extracted tarball with no source flags', () => {
    const f = new Fixture();
    const tarball = makeTarball(f, 'x64');
    const out = path.join(f.dir, 'extracted');
    mkdirSync(out);
    expect(spawnSync('tar', ['-xzf', tarball, '-C', out]).status).toBe(0);
    const r = f.run(path.join(out, 'ecs-anywhere-lb-agent-0.1.0-linux-x64', 'install.sh'), ['--root', f.root, '--target-groups', ARN]);
    expectOk(r);
    expect(f.read(BIN)).toBe(fakeAgent('tarball'));
    expect(f.read(UNIT)).toBe(UNIT_V2);
  });

  it.each([
    ['file:///tmp/ecs-anywhere-lb-agent-linux-x64', 'file:'],
    ['http://downloads.example.com/ecs-anywhere-lb-agent-linux-x64', 'a plain http host that is not this machine'],
    ['http://127.0.0.1.example.com/ecs-anywhere-lb-agent-linux-x64', 'a name that starts like a loopback address'],
    ['http://127.0.0.1@example.com/ecs-anywhere-lb-agent-linux-x64', 'a loopback address as the user part'],
    ['http://localhost.example.com:8080/ecs-anywhere-lb-agent-linux-x64', 'a name that starts with localhost'],
    ['ftp://127.0.0.1/ecs-anywhere-lb-agent-linux-x64', 'ftp:'],
  ])('--url %s is refused before any download (%s)', (url) => {
    const f = new Fixture();
    const r = f.install(['--url', url, '--unit', f.unit, '--target-groups', ARN]);
    expect(r.status, r.output).toBe(1);
    expect(r.stderr).toContain(`download: ${url} is not an https URL (plain http is accepted only from this machine's loopback address`);
  });

  it('installs without a signed checksum only with --insecure-skip-signature, and warns', () => {
    const f = new Fixture();
    rmSync(path.join(f.src, 'SHA256SUMS'));
    rmSync(path.join(f.src, 'SHA256SUMS.asc'));
    const refused = f.install(['--binary', f.binary, '--unit', f.unit, '--target-groups', ARN]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`refusing ${f.binary}: it is not covered by a signed SHA256SUMS`);
    const r = f.install(['--binary', f.binary, '--unit', f.unit, '--target-groups', ARN, '--insecure-skip-signature']);
    expectOk(r);
    expect(r.stderr).toContain(`warning: not checking ${f.binary} against a signed checksum (--insecure-skip-signature)`);
  });

  it('--allow-any-target-group needs --region and AWS_ACCOUNT_ID and scopes the policy to the region and account', () => {
    const f = new Fixture();
    const before = snapshot(f.root);
    const noRegion = f.install(['--binary', f.binary, '--unit', f.unit, '--allow-any-target-group']);
    expect(noRegion.status).toBe(2);
    expect(noRegion.stderr).toContain('install.sh: error: invalid --region (AWS_REGION): required with --allow-any-target-group');
    expect(snapshot(f.root)).toEqual(before);
    const noAccount = f.install(['--binary', f.binary, '--unit', f.unit, '--allow-any-target-group', '--region', 'us-gov-west-1']);
    expect(noAccount.status).toBe(2);
    expect(noAccount.stderr).toContain('install.sh: error: invalid --account (AWS_ACCOUNT_ID): required with --allow-any-target-group');
    expect(snapshot(f.root)).toEqual(before);
    const r = f.install(['--binary', f.binary, '--unit', f.unit, '--allow-any-target-group', '--region', 'us-gov-west-1', '--set', 'AWS_ACCOUNT_ID=123456789012']);
    expectOk(r);
    expect(f.config()).toEqual(['ECS_ANYWHERE_LB_ALLOW_ANY_TARGET_GROUP=true', 'AWS_REGION=us-gov-west-1', 'AWS_ACCOUNT_ID=123456789012']);
    const policy = JSON.parse(f.read(POLICY)) as { Statement: { Resource: unknown }[] };
    expect(policy.Statement[0]?.Resource).toEqual(['arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:targetgroup/*']);
    expect(r.stderr).toMatch(/warning: --allow-any-target-group/);
  });

  it('--dry-run shows the changes and leaves the tree untouched', () => {
    const f = new Fixture();
    const before = snapshot(f.root);
    const r = f.install(['--binary', f.binary, '--unit', f.unit, '--target-groups', ARN, '--dry-run']);
    expectOk(r);
    expect(r.stdout).toContain('Changes (dry run: nothing is changed):');
    expect(r.stdout).toContain('+ /usr/local/bin/ecs-anywhere-lb-agent (new, mode 0755)');
    expect(r.stdout).toContain('+ /etc/ecs-anywhere-lb-agent/agent.env (new, mode 0640)');
    expect(snapshot(f.root)).toEqual(before);
    expect(f.readLog('agent')).toEqual([]);
  });

  it('a failing check leaves the files installed, prints the policy and exits 3', () => {
    const f = new Fixture();
    const r = f.install(['--binary', f.binary, '--unit', f.unit, '--target-groups', ARN], { FAKE_CHECK_EXIT: '1' });
    expect(r.status, r.output).toBe(3);
    expect(r.stderr).toMatch(/warning: 'ecs-anywhere-lb-agent check' failed \(exit 1\)\. The files stay installed/);
    expect(r.stderr).toMatch(/error: installed, but the configuration check failed/);
    expect(r.stdout).toContain('aws iam put-role-policy');
    expect(f.read(BIN)).toBe(fakeAgent('v1'));
    expect(f.exists(ENV)).toBe(true);
  });
});

const REPO_UNIT = path.join(REPO, 'systemd/ecs-anywhere-lb-agent.service');

describe('install.sh: the repository\'s own unit', () => {
  it.skipIf(!existsSync(REPO_UNIT))('from a source checkout, installs ../systemd/ecs-anywhere-lb-agent.service by default', () => {
    const f = new Fixture();
    expectOk(f.install(['--binary', f.binary, '--target-groups', ARN]));
    expect(f.read(UNIT)).toBe(readFileSync(REPO_UNIT, 'utf8'));
  });

  it.skipIf(!existsSync(REPO_UNIT))('the unit reads the config and runs the binary where the installer puts them', () => {
    const unit = readFileSync(REPO_UNIT, 'utf8');
    expect(unit).toMatch(/^EnvironmentFile=-?\/etc\/ecs-anywhere-lb-agent\/agent\.env$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/ecs-anywhere-lb-agent run$/m);
  });
});

describe('install.sh: re-runs, upgrade', () => {
  it('a second identical run changes nothing: same tree, same contents, same mtimes', () => {
    const f = new Fixture();
    const args = ['--vpc-cidr', '10.0.0.0/16', '--host-ip', '10.8.0.10', '--metrics-address', '127.0.0.1:9464'];
    f.installV1(args);
    const before = snapshot(f.root);
    const r = f.installV1(args);
    expect(snapshot(f.root)).toEqual(before);
    expect(r.stdout).not.toMatch(/^ {2}[+~] /m);
    expect(r.stdout).toContain('= /etc/ecs-anywhere-lb-agent/agent.env (unchanged)');
    // A re-run without flags keeps the installed binary, unit and configuration.
    const bare = f.install([]);
    expectOk(bare);
    expect(snapshot(f.root)).toEqual(before);
  });

  it('a re-run with a changed flag rewrites only agent.env, in place, keeping hand edits', () => {
    const f = new Fixture();
    f.installV1(['--log-level', 'debug', '--interface', 'eth0']);
    const envPath = path.join(f.root, ENV);
    writeFileSync(envPath, `${readFileSync(envPath, 'utf8')}# my note\nECS_ANYWHERE_LB_ADDRESS_CHECK_INTERVAL=5s\n`);
    const before = snapshot(f.root);
    expectOk(f.install(['--log-level', 'info', '--host-ip', '10.8.0.10', '--set', 'DRY_RUN=true']));
    expect(f.config()).toEqual([
      `ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`,
      'ECS_ANYWHERE_LB_LOG_LEVEL=info',
      'ECS_ANYWHERE_LB_ADDRESS_CHECK_INTERVAL=5s',
      'ECS_ANYWHERE_LB_HOST_IP=10.8.0.10',
      'ECS_ANYWHERE_LB_DRY_RUN=true',
    ]);
    expect(f.read(ENV)).toContain('# my note\n');
    const after = snapshot(f.root);
    const changed = after.filter((e) => {
      const old = before.find((b) => b.path === e.path);
      return !old || old.sha256 !== e.sha256 || old.mtimeNs !== e.mtimeNs;
    }).map((e) => e.path);
    // agent.env changed (and so its directory's mtime); nothing else was touched.
    expect(changed).toEqual(['etc/ecs-anywhere-lb-agent/', ENV]);
  });

  it('--unset and --no-include-non-ecs remove or switch off settings', () => {
    const f = new Fixture();
    f.installV1(['--include-non-ecs', '--log-format', 'text']);
    expect(f.config()).toContain('ECS_ANYWHERE_LB_INCLUDE_NON_ECS=true');
    expectOk(f.install(['--no-include-non-ecs', '--unset', 'LOG_FORMAT']));
    expect(f.config()).toEqual([
      `ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`,
      'ECS_ANYWHERE_LB_INCLUDE_NON_ECS=false',
    ]);
  });

  it('--upgrade replaces binary and unit and keeps configuration and state', () => {
    const f = new Fixture();
    f.installV1(['--log-level', 'debug']);
    mkdirSync(path.dirname(path.join(f.root, STATE_FILE)), { recursive: true });
    writeFileSync(path.join(f.root, STATE_FILE), '{"registered":[]}\n');
    const keep = (s: Entry[]): Entry[] => s.filter((e) => e.path.startsWith('var/') || e.path === ENV);
    const before = snapshot(f.root);
    const r = f.install(['--upgrade', '--binary', f.binaryV2, '--unit', f.unitV2]);
    expectOk(r);
    expect(f.read(BIN)).toBe(fakeAgent('v2'));
    expect(f.read(UNIT)).toBe(UNIT_V2);
    expect(keep(snapshot(f.root))).toEqual(keep(before));
    expect(r.stdout).toContain('~ /usr/local/bin/ecs-anywhere-lb-agent (updated)');
    expect(f.readLog('agent').at(-1)).toBe(`v2 check --config ${path.join(f.root, ENV)}`);
  });

  it('--upgrade without an installation is refused', () => {
    const f = new Fixture();
    const before = snapshot(f.root);
    const r = f.install(['--upgrade', '--binary', f.binaryV2, '--unit', f.unitV2]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('nothing to upgrade');
    expect(snapshot(f.root)).toEqual(before);
  });
});

describe('install.sh: systemd', () => {
  const systemctlEnv = (f: Fixture): Record<string, string> => ({ ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL: f.systemctl });

  it('enables and starts on install, does nothing new on an identical re-run, restarts on change', () => {
    const f = new Fixture();
    f.installV1([], systemctlEnv(f));
    expect(f.readLog('systemctl')).toEqual([
      'daemon-reload',
      'is-active --quiet ecs-anywhere-lb-agent.service',
      'enable --now ecs-anywhere-lb-agent.service',
    ]);
    f.clearLog('systemctl');
    f.installV1([], systemctlEnv(f));
    expect(f.readLog('systemctl')).toEqual(['enable --now ecs-anywhere-lb-agent.service']);
    f.clearLog('systemctl');
    expectOk(f.install(['--log-level', 'warn'], systemctlEnv(f)));
    expect(f.readLog('systemctl')).toEqual([
      'is-active --quiet ecs-anywhere-lb-agent.service',
      'restart ecs-anywhere-lb-agent.service',
      'enable --now ecs-anywhere-lb-agent.service',
    ]);
  });

  it('--no-start enables without starting; --no-systemctl runs no systemctl at all', () => {
    const f = new Fixture();
    f.installV1(['--no-start'], systemctlEnv(f));
    expect(f.readLog('systemctl')).toEqual(['daemon-reload', 'enable ecs-anywhere-lb-agent.service']);
    const g = new Fixture();
    const r = g.installV1(['--no-systemctl'], systemctlEnv(g));
    expect(g.readLog('systemctl')).toEqual([]);
    expect(r.stdout).toContain('Skipping systemctl');
  });
});

describe('install.sh: VPN', () => {
  it('installs OpenVPN, the client config (0600), the drop-in, and registers the tunnel interface', () => {
    const f = new Fixture();
    const vpn = f.writeFile('site.ovpn', GOOD_VPN);
    f.installV1(['--vpn-config', vpn, '--package-manager-cmd', f.packageManager], { ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL: f.systemctl });

    expect(f.readLog('package-manager')).toEqual(['openvpn']);
    expect(f.read(VPN_CONF)).toBe(GOOD_VPN);
    expect(f.read(DROPIN)).toBe(
      '[Unit]\nAfter=openvpn-client@ecs-anywhere.service\nWants=openvpn-client@ecs-anywhere.service\n',
    );
    expect(listing(f.root).filter((l) => l.includes('openvpn') || l.includes('.service.d'))).toEqual([
      'etc/openvpn/ 0755',
      'etc/openvpn/client/ 0755',
      'etc/openvpn/client/ecs-anywhere.conf 0600',
      'etc/systemd/system/ecs-anywhere-lb-agent.service.d/ 0755',
      'etc/systemd/system/ecs-anywhere-lb-agent.service.d/10-vpn.conf 0644',
    ]);
    expect(f.config()).toContain('ECS_ANYWHERE_LB_INTERFACE=tun0');
    expect(f.readLog('systemctl')).toEqual([
      'daemon-reload',
      'is-active --quiet openvpn-client@ecs-anywhere.service',
      'enable --now openvpn-client@ecs-anywhere.service',
      'is-active --quiet ecs-anywhere-lb-agent.service',
      'enable --now ecs-anywhere-lb-agent.service',
    ]);
  });

  it('warns about what a config lets run as root (up/down scripts, script-security above 1, plugin) and a missing remote-cert-tls server', () => {
    const f = new Fixture();
    const good = f.install([...withBinary(f), '--target-groups', ARN, '--package-manager-cmd', f.packageManager, '--vpn-config', f.writeFile('good.ovpn', GOOD_VPN)]);
    expect(good.status).toBe(0);
    expect(good.stderr).not.toMatch(/--vpn-config/);
    const risky = GOOD_VPN.replace('remote-cert-tls server\n', '') + 'script-security 2\nup /etc/openvpn/up.sh\ndown /etc/openvpn/down.sh\nplugin /usr/lib/openvpn/evil.so\nscript-security 1\n';
    const g = new Fixture();
    const r = g.install([...withBinary(g), '--target-groups', ARN, '--package-manager-cmd', g.packageManager, '--vpn-config', g.writeFile('risky.ovpn', risky)]);
    expect(r.status).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning: --vpn-config'));
    expect(warnings.map((l) => l.replace(/^.*risky\.ovpn: /, ''))).toEqual([
      "line 20: 'script-security 2' lets OpenVPN run scripts (1 is enough for a client)",
      "line 21: 'up' runs a script as root at each connection",
      "line 22: 'down' runs a script as root at each connection",
      "line 23: 'plugin' loads code into the root OpenVPN process",
      "no 'remote-cert-tls server': another client's certificate from the same CA could pose as the server",
    ]);
  });

  it('takes "dev tunN" as given and honours an explicit --host-ip', () => {
    const f = new Fixture();
    const vpn = f.writeFile('site.ovpn', GOOD_VPN.replace('dev tun\n', 'dev tun3\n'));
    f.installV1(['--vpn-config', vpn, '--package-manager-cmd', f.packageManager]);
    expect(f.config()).toContain('ECS_ANYWHERE_LB_INTERFACE=tun3');

    const g = new Fixture();
    const vpn2 = g.writeFile('site.ovpn', GOOD_VPN);
    g.installV1(['--vpn-config', vpn2, '--package-manager-cmd', g.packageManager, '--host-ip', '10.8.0.10']);
    expect(g.config()).toContain('ECS_ANYWHERE_LB_HOST_IP=10.8.0.10');
    expect(g.config().some((l) => l.startsWith('ECS_ANYWHERE_LB_INTERFACE='))).toBe(false);
  });
});

describe('install.sh: uninstall and purge', () => {
  it('--uninstall stops, deregisters, disables and removes every installed file but the config; --purge removes the rest', () => {
    const f = new Fixture();
    const pristine = snapshot(f.root);
    const vpn = f.writeFile('site.ovpn', GOOD_VPN);
    const env = { ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL: f.systemctl };
    f.installV1(['--vpn-config', vpn, '--package-manager-cmd', f.packageManager], env);
    mkdirSync(path.dirname(path.join(f.root, STATE_FILE)), { recursive: true });
    writeFileSync(path.join(f.root, STATE_FILE), '{}\n');
    f.clearLog('systemctl');

    const r = f.install(['--uninstall'], env);
    expectOk(r);
    expect(f.readLog('agent').at(-1)).toBe(`v1 deregister --all --config ${path.join(f.root, ENV)} --state-dir ${path.join(f.root, 'var/lib/ecs-anywhere-lb-agent')}`);
    expect(f.readLog('systemctl')).toEqual([
      'is-active --quiet ecs-anywhere-lb-agent.service',
      'stop ecs-anywhere-lb-agent.service',
      'disable ecs-anywhere-lb-agent.service',
      'disable --now openvpn-client@ecs-anywhere.service',
      'daemon-reload',
    ]);
    expect(listing(f.root)).toEqual([
      'etc/ 0755',
      'etc/ecs-anywhere-lb-agent/ 0755',
      'etc/ecs-anywhere-lb-agent/.installed-files 0644',
      'etc/ecs-anywhere-lb-agent/agent.env 0640',
      'etc/systemd/ 0755',
      'etc/systemd/system/ 0755',
      'usr/ 0755',
      'usr/local/ 0755',
      'usr/local/bin/ 0755',
      'var/ 0755',
      'var/lib/ 0755',
      'var/lib/ecs-anywhere-lb-agent/ 0755',
      'var/lib/ecs-anywhere-lb-agent/state.json 0644',
    ]);
    // A second --uninstall has nothing left to do.
    const again = f.install(['--uninstall'], env);
    expectOk(again);
    expect(again.stdout).toContain('Nothing to remove');

    expectOk(f.install(['--purge'], env));
    expect(snapshot(f.root).map((e) => `${e.path} ${e.mode}`)).toEqual(pristine.map((e) => `${e.path} ${e.mode}`));
    expect(listing(f.root)).toEqual(SKELETON_LISTING);
  });

  it('--purge straight from an installation removes everything, state included', () => {
    const f = new Fixture();
    f.installV1();
    mkdirSync(path.dirname(path.join(f.root, STATE_FILE)), { recursive: true });
    writeFileSync(path.join(f.root, STATE_FILE), '{}\n');
    expectOk(f.install(['--purge']));
    expect(listing(f.root)).toEqual(SKELETON_LISTING);
  });

  it('refuses to remove anything when deregistering fails, unless --force', () => {
    const f = new Fixture();
    const env = { ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL: f.systemctl, FAKE_DEREGISTER_EXIT: '1' };
    f.installV1([], env);
    const before = snapshot(f.root);
    f.clearLog('systemctl');
    const r = f.install(['--uninstall'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/deregister --all' failed \(exit 1\).*nothing was removed.*--force/);
    expect(snapshot(f.root)).toEqual(before);
    // The agent was stopped for the attempt and is running again.
    expect(f.readLog('systemctl')).toEqual([
      'is-active --quiet ecs-anywhere-lb-agent.service',
      'stop ecs-anywhere-lb-agent.service',
      'start ecs-anywhere-lb-agent.service',
    ]);
    const forced = f.install(['--uninstall', '--force'], env);
    expectOk(forced);
    expect(f.exists(BIN)).toBe(false);
  });
});

interface BadCase {
  name: string;
  args: (f: Fixture) => string[];
  env?: Record<string, string>;
  status: number;
  message: RegExp;
  /** Run also against an installed tree (the args must then make sense as a re-run). */
  installed?: boolean;
}

const withBinary = (f: Fixture): string[] => ['--binary', f.binary, '--unit', f.unit];

// The installer's own refusals (flags, files, checksums, packages). Configuration values are the
// agent's: see the table over the agent's options below.
const BAD_CASES: BadCase[] = [
  {
    name: 'both --host-ip and --interface (the agent: not both)',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--host-ip', '10.8.0.10', '--interface', 'tun0'],
    status: 2,
    message: /error: invalid --host-ip \(ECS_ANYWHERE_LB_HOST_IP\): give either --host-ip or --interface, not both/,
    installed: true,
  },
  {
    name: 'a --set of an option the agent does not have',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--set', 'NO_SUCH_OPTION=1'],
    status: 2,
    message: /error: invalid ECS_ANYWHERE_LB_NO_SUCH_OPTION: not an option of this agent/,
    installed: true,
  },
  {
    name: 'a --set of a misspelt option, with the one meant',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--set', 'RECONCILE_INTERVALL=30s'],
    status: 2,
    message: /invalid ECS_ANYWHERE_LB_RECONCILE_INTERVALL: not an option of this agent \(did you mean ECS_ANYWHERE_LB_RECONCILE_INTERVAL\?\)/,
    installed: true,
  },
  {
    name: 'a health threshold below twice the reconcile interval',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--reconcile-interval', '60s', '--set', 'HEALTH_THRESHOLD=90s'],
    status: 2,
    message: /invalid --health-threshold \(ECS_ANYWHERE_LB_HEALTH_THRESHOLD\): 90s is shorter than twice --reconcile-interval/,
    installed: true,
  },
  {
    name: 'a mapping file that does not exist',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--mapping-file', path.join(f.src, 'no-such-mapping.json')],
    status: 2,
    message: /invalid --mapping-file \(ECS_ANYWHERE_LB_MAPPING_FILE\): cannot read .*no-such-mapping\.json/,
    installed: true,
  },
  {
    name: 'an unknown flag',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--target-group', ARN],
    status: 2,
    message: /error: unknown flag '--target-group'/,
    installed: true,
  },
  {
    name: 'a flag missing its value',
    args: (f) => [...withBinary(f), '--interface', '--target-groups', ARN],
    status: 2,
    message: /--interface needs a value/,
    installed: true,
  },
  {
    name: 'no target groups on a fresh host',
    args: (f) => withBinary(f),
    status: 2,
    message: /invalid --allowed-target-groups \(ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS\): required/,
  },
  {
    name: 'a missing binary file',
    args: (f) => ['--binary', path.join(f.src, 'nope'), '--unit', f.unit, '--target-groups', ARN],
    status: 1,
    message: /--binary: .*\/nope does not exist/,
    installed: true,
  },
  {
    name: 'a binary changed after its SHA256SUMS was signed',
    args: (f) => {
      writeFileSync(f.binaryV2, `${fakeAgent('v2')}# tampered\n`);
      return ['--binary', f.binaryV2, '--unit', f.unit, '--target-groups', ARN];
    },
    status: 1,
    message: /checksum mismatch for .*: expected [0-9a-f]{64}, got [0-9a-f]{64}/,
    installed: true,
  },
  {
    name: 'a checksum mismatch against --sha256',
    args: (f) => ['--binary', f.binaryV2, '--sha256', sha256('something else'), '--unit', f.unit, '--target-groups', ARN],
    status: 1,
    message: /checksum mismatch/,
    installed: true,
  },
  {
    name: 'no signed checksum at all',
    args: (f) => {
      rmSync(path.join(f.src, 'v2', 'SHA256SUMS'), { force: true });
      rmSync(path.join(f.src, 'v2', 'SHA256SUMS.asc'), { force: true });
      return ['--binary', f.binaryV2, '--unit', f.unit, '--target-groups', ARN];
    },
    status: 1,
    message: /refusing .*: it is not covered by a signed SHA256SUMS \(put the release's SHA256SUMS and SHA256SUMS.asc next to it, or pass --sha256 HEX/,
    installed: true,
  },
  {
    name: 'an unsupported architecture',
    args: (f) => [...withBinary(f), '--target-groups', ARN],
    env: { ECS_ANYWHERE_LB_INSTALL_ARCH: 'armv7l' },
    status: 1,
    message: /unsupported architecture 'armv7l': ECS Anywhere, and so this agent, supports only x86_64 and aarch64/,
    installed: true,
  },
  {
    name: 'an executable built for the other architecture',
    args: (f) => {
      const elf = Buffer.alloc(64);
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elf, 0);
      elf.writeUInt16LE(0xb7, 18); // e_machine = EM_AARCH64
      const file = f.writeFile('arm64-binary', elf);
      return ['--binary', file, '--sha256', sha256(elf), '--unit', f.unit, '--target-groups', ARN];
    },
    status: 1,
    message: /is a linux-arm64 executable but this host is x86_64 \(linux-x64\)/,
    installed: true,
  },
  {
    name: 'a tarball for another architecture',
    args: (f) => ['--tarball', makeTarball(f, 'arm64'), '--target-groups', ARN],
    status: 1,
    message: /has no ecs-anywhere-lb-agent-linux-x64 \(is it the tarball for another architecture\? this host is x86_64\)/,
    installed: true,
  },
  {
    name: 'a VPN config that references external files',
    args: (f) => [
      ...withBinary(f), '--target-groups', ARN, '--package-manager-cmd', f.packageManager, '--vpn-config',
      f.writeFile('bad.ovpn', 'client\ndev tun\nca ca.crt\n<cert>\nx\n</cert>\nkey /etc/openvpn/client.key\ntls-crypt tc.key\nauth-user-pass creds.txt\n'),
    ],
    status: 1,
    message: /references external files.*self-contained:\n {2}line 3: ca ca\.crt\n {2}line 7: key \/etc\/openvpn\/client\.key\n {2}line 8: tls-crypt tc\.key\n {2}line 9: auth-user-pass creds\.txt/s,
    installed: true,
  },
  {
    name: 'a VPN config without a dev line',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--package-manager-cmd', f.packageManager, '--vpn-config', f.writeFile('nodev.ovpn', GOOD_VPN.replace('dev tun\n', ''))],
    status: 1,
    message: /has no 'dev' line/,
    installed: true,
  },
  {
    name: 'a failing package manager',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--package-manager-cmd', f.packageManager, '--vpn-config', f.writeFile('site.ovpn', GOOD_VPN)],
    env: { FAKE_PM_EXIT: '3' },
    status: 1,
    message: /installing the openvpn package with '.*fake-package-manager openvpn' failed \(exit 3\); nothing was changed/,
    installed: true,
  },
  {
    name: '--upgrade with configuration flags',
    args: (f) => ['--upgrade', '--binary', f.binaryV2, '--unit', f.unitV2, '--log-level', 'debug'],
    status: 2,
    message: /--upgrade keeps the configuration; run without --upgrade to change it/,
    installed: true,
  },
  {
    name: 'a --set value agent.env cannot hold',
    args: (f) => [...withBinary(f), '--target-groups', ARN, '--set', 'MAPPING_FILE=/etc/my mapping.json'],
    status: 2,
    message: /invalid ECS_ANYWHERE_LB_MAPPING_FILE: "\/etc\/my mapping\.json" contains whitespace/,
    installed: true,
  },
  {
    name: 'an agent option in the installer\'s environment (it would look set and be ignored)',
    args: (f) => [...withBinary(f), '--target-groups', ARN],
    env: { ECS_ANYWHERE_LB_HOST_IP: '10.8.0.10' },
    status: 2,
    message: /ECS_ANYWHERE_LB_HOST_IP is set in this environment, but the agent takes its settings from \/etc\/ecs-anywhere-lb-agent\/agent\.env only: unset it and pass the matching flag, or --set HOST_IP=VALUE/,
    installed: true,
  },
  {
    name: 'a package with --root',
    args: (f) => ['--package', f.writeFile('agent.deb', 'x'), '--target-groups', ARN],
    status: 2,
    message: /--package installs into this system with dpkg or rpm; it cannot be combined with --root/,
    installed: true,
  },
];

/** The installer's flag for an agent option, when it has one; every other option goes through --set. */
const INSTALLER_FLAG: Record<string, string> = {
  'allowed-target-groups': '--target-groups', interface: '--interface', 'host-ip': '--host-ip', 'vpc-cidr': '--vpc-cidr',
  'availability-zone': '--availability-zone', 'on-exit': '--on-exit', 'drain-timeout': '--drain-timeout',
  'reconcile-interval': '--reconcile-interval', 'log-level': '--log-level', 'log-format': '--log-format',
  'mapping-file': '--mapping-file', 'metrics-address': '--metrics-address',
};

/**
 * An invalid value for every option of the agent (`config` aside: it names the file itself).
 * A new option fails the completeness test below until it has one here.
 */
const INVALID_VALUES: Record<string, string> = {
  'host-ip': '8.8.8.8',
  interface: 'eth0/1',
  'allow-any-address': 'maybe',
  'allowed-target-groups': 'arn:aws:elasticloadbalancing:eu-west-1:1234:targetgroup/web/abc',
  'allow-any-target-group': 'perhaps',
  'state-dir': 'var/lib/agent',
  'vpc-cidr': '10.0.0.0/33',
  'availability-zone': 'us-east-1',
  'reconcile-interval': '500ms',
  'fleet-size': '0',
  'elb-api-limits': 'write=4:20',
  'address-check-interval': '50ms',
  'on-exit': 'drain',
  'drain-timeout': '2min',
  'log-format': 'xml',
  'log-level': 'trace',
  'include-non-ecs': 'sometimes',
  'mapping-file': 'mapping.json',
  'task-metadata-endpoint': '169.254.170.2',
  'read-service-tags': 'sometimes',
  'ecs-introspection-endpoint': 'localhost:51678',
  'readiness-address': 'docker0',
  'metrics-address': '0.0.0.0:9464',
  'health-threshold': '90s',
  'retry-max-delay': '500ms',
  'dry-run': 'maybe',
  'docker-host': 'docker.sock',
  'host-port-range': '60999-32768',
};

/** What the agent itself says about the value: the message the installer must show. */
function agentMessage(option: string, value: string): string {
  const raw: RawOptions = { 'allowed-target-groups': ARN, [option]: value };
  try {
    buildConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`the agent accepts --${option}=${value}: pick a value it refuses`);
}

describe('install.sh: bad input is refused with a clear message and an untouched host', () => {
  // Two trees shared by every case: each case must leave them exactly as it found them.
  let fresh: Fixture;
  let installed: Fixture;
  beforeAll(() => {
    fresh = new Fixture();
    installed = new Fixture();
    installed.installV1();
  });

  it.each(BAD_CASES)('$name', (c) => {
    const trees = [{ label: 'fresh', f: fresh }, ...(c.installed ? [{ label: 'installed', f: installed }] : [])];
    for (const { label, f } of trees) {
      f.clearLog('agent');
      const before = snapshot(f.root);
      const r = f.install(c.args(f), c.env ?? {});
      expect(r.status, `${label}: ${r.output}`).toBe(c.status);
      expect(r.stderr, label).toMatch(/^install\.sh: error: /m);
      expect(r.stderr, label).toMatch(c.message);
      expect(snapshot(f.root), `${label} tree`).toEqual(before);
      expect(f.readLog('agent'), label).toEqual([]);
    }
  });
});

describe('install.sh: every value the agent refuses is refused before anything is written, with the agent\'s message', () => {
  const options = OPTIONS.filter((o) => o.name !== 'config').map((o) => o.name);
  let fresh: Fixture;
  let installed: Fixture;
  beforeAll(() => {
    fresh = new Fixture();
    installed = new Fixture();
    installed.installV1();
  });

  it('has an invalid value for every option of the agent', () => {
    expect(Object.keys(INVALID_VALUES).sort()).toEqual([...options].sort());
  });

  it.each(options.map((o) => [o]))('--%s', (option) => {
    const value = INVALID_VALUES[option] as string;
    const flag = INSTALLER_FLAG[option];
    const given = flag !== undefined ? [flag, value] : ['--set', `${envName(option).replace('ECS_ANYWHERE_LB_', '')}=${value}`];
    const message = agentMessage(option, value);
    for (const [label, f] of [['fresh', fresh], ['installed', installed]] as const) {
      const groups = option === 'allowed-target-groups' ? [] : ['--target-groups', ARN];
      const before = snapshot(f.root);
      const r = f.install([...withBinary(f), ...groups, ...given]);
      expect(r.status, `${label}: ${r.output}`).toBe(2);
      expect(r.stderr.split('\n'), label).toContain(`install.sh: error: ${message}`);
      expect(snapshot(f.root), `${label}: the tree is byte-identical, mtimes included`).toEqual(before);
      expect(f.readLog('agent'), label).toEqual(label === 'installed' ? [`v1 check --config ${path.join(f.root, ENV)}`] : []);
    }
  });
});

describe('install.sh: agent.env as the agent reads it', () => {
  it('a misspelt key in the installed agent.env stops a re-run until it is removed (--unset)', () => {
    const f = new Fixture();
    f.installV1();
    const envPath = path.join(f.root, ENV);
    writeFileSync(envPath, `${readFileSync(envPath, 'utf8')}ECS_ANYWHERE_LB_RECONCILE_INTERVALL=30s\n`);
    const line = readFileSync(envPath, 'utf8').split('\n').indexOf('ECS_ANYWHERE_LB_RECONCILE_INTERVALL=30s') + 1;
    const before = snapshot(f.root);
    const r = f.install(['--log-level', 'debug']);
    expect(r.status, r.output).toBe(2);
    expect(r.stderr).toContain(`install.sh: error: invalid ECS_ANYWHERE_LB_RECONCILE_INTERVALL (/etc/ecs-anywhere-lb-agent/agent.env line ${line}): not an option of this agent (did you mean ECS_ANYWHERE_LB_RECONCILE_INTERVAL?)`);
    expect(snapshot(f.root)).toEqual(before);
    expectOk(f.install(['--unset', 'RECONCILE_INTERVALL', '--reconcile-interval', '30s']));
    expect(f.config()).toEqual([`ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`, 'ECS_ANYWHERE_LB_RECONCILE_INTERVAL=30s']);
  });

  it('a new agent.env starts from the agent\'s commented template', () => {
    const f = new Fixture();
    f.installV1();
    const agentTemplate = spawnSync(process.execPath, [BUNDLE, 'config', 'set', '--config', path.join(f.dir, 'template.env'), `ALLOWED_TARGET_GROUPS=${ARN}`], { encoding: 'utf8' });
    expect(agentTemplate.status, agentTemplate.stderr).toBe(0);
    expect(f.read(ENV)).toBe(readFileSync(path.join(f.dir, 'template.env'), 'utf8'));
  });
});

describe('install.sh: --uninstall on a host where the agent never ran', () => {
  it('--uninstall --purge succeeds without --force: the real agent has nothing to deregister and asks no one', () => {
    const f = new Fixture();
    mkdirSync(path.join(f.src, 'real'));
    const real = f.writeExecutable('real/ecs-anywhere-lb-agent-linux-x64', REAL_AGENT, true);
    expectOk(f.install(['--binary', real, '--unit', f.unit, '--target-groups', ARN, '--no-check']));
    // No credentials and no ELB endpoint: any API call would fail the uninstall.
    const r = f.install(['--uninstall', '--purge'], { AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: 'http://127.0.0.1:9', AWS_SHARED_CREDENTIALS_FILE: path.join(f.dir, 'none') });
    expectOk(r);
    expect(r.stdout).toContain('nothing to deregister: no target recorded');
    expect(listing(f.root)).toEqual(SKELETON_LISTING);
  });
});

describe('install.sh: --print-iam-policy and --help', () => {
  it('--print-iam-policy prints the policy JSON on stdout and the command on stderr, writing nothing', () => {
    const f = new Fixture();
    const before = snapshot(f.root);
    const r = f.install(['--print-iam-policy', '--binary', f.binary, '--target-groups', `${ARN},${ARN2}`, '--iam-role', 'edgeRole']);
    expectOk(r);
    const policy = JSON.parse(r.stdout) as { Statement: { Resource: unknown }[] };
    expect(policy.Statement[0]?.Resource).toEqual([ARN, ARN2]);
    expect(policy.Statement[1]?.Resource).toBe('*');
    expect(r.stderr).toContain(
      'aws iam put-role-policy --role-name edgeRole --policy-name ecs-anywhere-lb-agent --policy-document file://ecs-anywhere-lb-agent.json',
    );
    expect(snapshot(f.root)).toEqual(before);
  });

  it('--print-iam-policy alone uses the installed configuration', () => {
    const f = new Fixture();
    f.installV1(['--target-groups', ARN2]);
    const r = f.install(['--print-iam-policy']);
    expectOk(r);
    expect((JSON.parse(r.stdout) as { Statement: { Resource: unknown }[] }).Statement[0]?.Resource).toEqual([ARN, ARN2]);
  });

  it('the installed policy is exactly what the agent\'s iam-policy prints: one template', () => {
    const f = new Fixture();
    f.installV1(['--target-groups', ARN2]);
    const agent = spawnSync(process.execPath, [BUNDLE, 'iam-policy', '--target-groups', `${ARN},${ARN2}`], { encoding: 'utf8' });
    expect(agent.status, agent.stderr).toBe(0);
    expect(f.read(POLICY)).toBe(agent.stdout);
  });

  it('--help documents every flag the parser accepts', () => {
    const source = readFileSync(INSTALL, 'utf8');
    const body = (start: string): string => source.slice(source.indexOf(start), source.indexOf('\n}\n', source.indexOf(start)));
    const cases = `${body('take_switch() {')}${body('take_value_flag() {')}`.split('\n').filter((l) => /^\s+(-h \| )?--[a-z0-9-]+( \| --[a-z0-9-]+)?\)/.test(l));
    const table = source.slice(source.indexOf('CONFIG_FLAGS_TABLE=('), source.indexOf(')', source.indexOf('CONFIG_FLAGS_TABLE=(')));
    const flags = [...`${cases.join('\n')}\n${table}`.matchAll(/--[a-z0-9-]+/g)].map((m) => m[0]);
    expect(flags.length).toBeGreaterThan(35);
    const help = spawnSync('bash', [INSTALL, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const flag of flags) expect(help.stdout, flag).toMatch(new RegExp(`(^|[\\s,(])${flag}(?![a-z-])`, 'm'));
  });
});

describe('ecs-anywhere-install-wrapper.sh', () => {
  const officialArgs = [
    '--region', 'eu-west-1', '--activation-id', 'id with spaces', '--activation-code', 'Code+/=',
    '--cluster', 'edge', '--enable-gpu', '--docker-install-source', 'none', '--ecs-version', '1.90.0',
    '--ecs-endpoint', 'https://ecs.example', '--certs-file', '/etc/ssl/certs/ca.pem', '--ip-compatibility', 'ipv4',
    '--skip-registration', '--no-start',
  ];

  const officialArgv = (f: Fixture): string[] => {
    const file = f.log('official-argv');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\0').slice(0, -1) : [];
  };

  it('passes the official flags through unchanged and in order, then installs with --region', () => {
    const f = new Fixture();
    const official = f.writeExecutable('ecs-anywhere-install.sh', FAKE_OFFICIAL);
    // Our flags interleaved with the official ones.
    const args = [
      '--root', f.root, ...officialArgs.slice(0, 4), '--binary', f.binary, ...officialArgs.slice(4, 9),
      '--unit', f.unit, '--target-groups', ARN, ...officialArgs.slice(9), '--official-script', official, '--skip-official-script-signature',
    ];
    const r = f.run(WRAPPER, args);
    expectOk(r);
    expect(officialArgv(f)).toEqual(officialArgs);
    expect(f.read(BIN)).toBe(fakeAgent('v1'));
    expect(f.config()).toContain('AWS_REGION=eu-west-1');
    expect(r.stdout).toContain('(not started: --no-start)');
  });

  it('stops with the official script\'s exit status when it fails, installing nothing', () => {
    const f = new Fixture();
    const official = f.writeExecutable('ecs-anywhere-install.sh', FAKE_OFFICIAL);
    const before = snapshot(f.root);
    const r = f.run(WRAPPER, ['--region', 'eu-west-1', '--activation-id', 'I', '--activation-code', 'C', '--official-script', official,
      '--skip-official-script-signature', '--root', f.root, '--binary', f.binary, '--unit', f.unit, '--target-groups', ARN], { FAKE_OFFICIAL_EXIT: '7' });
    expect(r.status).toBe(7);
    expect(r.stderr).toContain('error: the official ecs-anywhere-install.sh failed (exit 7); ecs-anywhere-lb-agent was not installed');
    expect(officialArgv(f)).toEqual(['--region', 'eu-west-1', '--activation-id', 'I', '--activation-code', 'C']);
    expect(snapshot(f.root)).toEqual(before);
  });

  it('runs the official script only when its .asc verifies with the Amazon ECS key, unless told to skip', () => {
    const f = new Fixture();
    const official = f.writeExecutable('ecs-anywhere-install.sh', FAKE_OFFICIAL);
    const args = ['--region', 'eu-west-1', '--activation-id', 'I', '--activation-code', 'C', '--official-script', official,
      '--root', f.root, '--binary', f.binary, '--unit', f.unit, '--target-groups', ARN];
    const before = snapshot(f.root);
    const unsigned = f.run(WRAPPER, args);
    expect(unsigned.status, unsigned.output).toBe(1);
    expect(unsigned.stderr).toContain(`refusing ${official}: no signature ${official}.asc next to it`);
    // A valid signature, but by a key that is not Amazon's.
    OTHER_KEY.sign(official);
    const forged = f.run(WRAPPER, args);
    expect(forged.status, forged.output).toBe(1);
    expect(forged.stderr).toContain(`refusing ${official}: it is not signed by the Amazon ECS key F34C3DDAE72926B079BEAEC6BCE9D9A42D51784F`);
    expect(forged.stderr).toContain(`gpg:                using EDDSA key ${OTHER_KEY.fingerprint}`);
    expect(forged.stderr).toContain("gpg: Can't check signature: No public key");
    expect(officialArgv(f)).toEqual([]);
    expect(snapshot(f.root)).toEqual(before);
    const skipped = f.run(WRAPPER, [...args, '--skip-official-script-signature']);
    expectOk(skipped);
    expect(skipped.stderr).toContain(`warning: running ${official} without checking its signature (--skip-official-script-signature)`);
  });

  it('ships the Amazon ECS key with the fingerprint the ECS developer guide publishes', () => {
    const r = spawnSync('gpg', ['--homedir', mkdtempSync(path.join(KEYS, 'gpg-')), '--with-colons', '--show-keys', path.join(REPO, 'installer/keys/amazon-ecs.gpg')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9]).toBe('F34C3DDAE72926B079BEAEC6BCE9D9A42D51784F');
    expect(r.stdout).toContain('Amazon ECS <ecs-security@amazon.com>');
  });

  it('never shows the activation code: not in its own lines, not in the official script\'s output', () => {
    const f = new Fixture();
    // The stand-in echoes its arguments, as a script tracing itself would.
    const official = f.writeExecutable('ecs-anywhere-install.sh', FAKE_OFFICIAL.replace('exit ', 'echo "official: $*"\necho "official on stderr: $*" >&2\nexit '));
    const r = f.run(WRAPPER, ['--region', 'eu-west-1', '--activation-id', 'I', '--activation-code', 'SECRETCODE', '--official-script', official,
      '--skip-official-script-signature', '--root', f.root, '--binary', f.binary, '--unit', f.unit, '--target-groups', ARN]);
    expectOk(r);
    expect(officialArgv(f)).toContain('SECRETCODE');
    expect(r.output).toContain('--activation-code ***');
    expect(r.output).toContain('official: --region eu-west-1 --activation-id I --activation-code ***');
    expect(r.output).not.toContain('SECRETCODE');
    const dry = f.run(WRAPPER, ['--region', 'eu-west-1', '--activation-code', 'SECRETCODE', '--dry-run', '--root', f.root, '--binary', f.binary,
      '--unit', f.unit, '--target-groups', ARN]);
    expectOk(dry);
    // Written as one word, and with a flag install.sh refuses: still never shown.
    const inline = f.run(WRAPPER, ['--region=eu-west-1', '--activation-code=SECRETCODE', '--dry-run', '--root', f.root, '--binary', f.binary,
      '--unit', f.unit, '--target-groups', ARN, '--no-such-flag']);
    expect(inline.status).toBe(2);
    expect(inline.output).not.toContain('SECRETCODE');
    expect(dry.output).not.toContain('SECRETCODE');
  });

  it('rejects bad installer flags before running the official script', () => {
    const f = new Fixture();
    const official = f.writeExecutable('ecs-anywhere-install.sh', FAKE_OFFICIAL);
    const r = f.run(WRAPPER, ['--region', 'eu-west-1', '--official-script', official, '--root', f.root, '--binary', f.binary,
      '--unit', f.unit, '--target-groups', 'not-an-arn']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/install\.sh: error: invalid --allowed-target-groups \(ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS\): "not-an-arn" is not a target group ARN/);
    expect(r.stderr).toContain('nothing was run');
    expect(officialArgv(f)).toEqual([]);
  });

  it('requires --region and documents both sets of flags', () => {
    const f = new Fixture();
    const r = f.run(WRAPPER, ['--cluster', 'edge']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--region is required');
    const help = f.run(WRAPPER, ['--help']);
    expectOk(help);
    for (const flag of ['--region', '--activation-id', '--activation-code', '--cluster', '--enable-gpu', '--docker-install-source',
      '--ecs-version', '--ecs-endpoint', '--certs-file', '--ip-compatibility', '--no-start', '--skip-registration',
      '--official-script', '--target-groups', '--vpn-config', '--host-ip', '--uninstall']) {
      expect(help.stdout, flag).toContain(flag);
    }
  });
});

const shellcheckVersion = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
const HAS_SHELLCHECK = shellcheckVersion.error === undefined && shellcheckVersion.status === 0;
if (!HAS_SHELLCHECK) console.warn('[installer tests] shellcheck is not on PATH: skipping the shellcheck test (CI installs it)');

describe('shell quality', () => {
  it.skipIf(!HAS_SHELLCHECK)('shellcheck installer/*.sh passes, following install.sh into lib/', () => {
    const scripts = readdirSync(path.join(REPO, 'installer')).filter((n) => n.endsWith('.sh')).map((n) => path.join(REPO, 'installer', n));
    const r = spawnSync('shellcheck', ['-x', ...scripts], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

/** A second unit as issue 25's socket proxy ships one: the tarball's units are all placed and enabled. */
const HELPER_SOCKET = '[Socket]\nListenStream=/run/ecs-anywhere-lb-agent/helper.sock\n\n[Install]\nWantedBy=sockets.target\n';

/** A release tarball in the documented layout, holding a binary for `arch` ("tarball" stand-in). */
function makeTarball(f: Fixture, arch: 'x64' | 'arm64'): string {
  const top = `ecs-anywhere-lb-agent-0.1.0-linux-${arch}`;
  const stage = path.join(f.dir, `tarball-stage-${arch}`);
  const dir = path.join(stage, top);
  mkdirSync(dir, { recursive: true });
  const binary = path.join(dir, `ecs-anywhere-lb-agent-linux-${arch}`);
  writeFileSync(binary, fakeAgent('tarball'), { mode: 0o755 });
  writeFileSync(path.join(dir, 'ecs-anywhere-lb-agent.service'), UNIT_V2);
  writeFileSync(path.join(dir, 'ecs-anywhere-lb-agent-helper.socket'), HELPER_SOCKET);
  cpSync(INSTALLER_DIR, dir, { recursive: true });
  const out = path.join(f.dir, `${top}.tar.gz`);
  const r = spawnSync('tar', ['-C', stage, '-czf', out, top], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  writeSignedSums(f.dir, RELEASE_KEY);
  return out;
}
