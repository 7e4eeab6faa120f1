// The release's repositories and Distributor package, used as hosts use them, with the real
// tools and a static server on 127.0.0.1: apt-get (in a scratch root: Dir= options, dpkg --root)
// installs from apt/ signed-by the release key and upgrades to a newer version; dnf resolves and
// downloads from yum/ with gpgcheck=1 and repo_gpgcheck=1; both refuse a tampered package and a
// repository signed by another key. The Distributor zips' scripts install, upgrade (keeping
// agent.env) and uninstall in a scratch root (--root), and manifest.json names every zip with its
// sha256 in the documented schema. The newer version is the same binary packaged as 0.1.1 by
// scripts/build-packages.ts. Runs when ECSLB_TEST_RELEASE=1 (`npm run test:release`).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../scripts/release/checksums.ts';
import { DISTRIBUTOR_ARCH, writeDistributorPackage, zipName, type DistributorManifest } from '../../scripts/release/distributor.ts';
import { signRpms, writeAptRepository, writeYumRepository } from '../../scripts/release/repositories.ts';
import { openSigningKey, type SigningKey } from '../../scripts/release/signing-key.ts';
import { startStaticHttp, type StaticHttp } from '../support/static-http.ts';
import { makeTestSigningKey, type TestSigningKey } from '../support/test-signing-key.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RELEASE = path.join(REPO, 'dist/release');
const NAME = 'ecs-anywhere-lb-agent';
const NEXT = '0.1.1';
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const enabled = process.env.ECSLB_TEST_RELEASE === '1';
const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();

describe.skipIf(!enabled)('the release repositories and Distributor package', () => {
  let work: string;
  let served: string;
  let server: StaticHttp;
  let key: SigningKey;
  let other: TestSigningKey;
  let nextDeb: string;
  let nextRpm: string;

  beforeAll(async () => {
    if (!existsSync(path.join(RELEASE, 'SHA256SUMS'))) throw new Error('dist/release is missing: run npm run release first');
    work = mkdtempSync(path.join(tmpdir(), 'ecslb-release-repos-'));
    served = path.join(work, 'served');
    mkdirSync(served);
    cpSync(RELEASE, path.join(served, 'genuine'), { recursive: true });
    const epoch = (JSON.parse(readFileSync(path.join(REPO, 'dist/bin/build-info.json'), 'utf8')) as { sourceDateEpoch: number }).sourceDateEpoch;
    // The key the release was signed with (the throwaway one of this checkout, or RELEASE_GPG_KEY).
    key = openSigningKey({ env: process.env, throwawayFile: path.join(REPO, 'dist/throwaway-release-key.asc'), epoch });
    other = makeTestSigningKey(path.join(work, 'other-key'), 'another key');
    // The same binary packaged as a newer version, and repositories holding it.
    const next = path.join(work, 'next-packages');
    execFileSync(path.join(REPO, 'node_modules/.bin/tsx'), [path.join(REPO, 'scripts/build-packages.ts'), '--version', NEXT, '--arch', 'x64', '--format', 'deb,rpm', '--compress-level', '0', '--out', next], { cwd: REPO, stdio: 'ignore' });
    nextDeb = path.join(next, `${NAME}_${NEXT}_amd64.deb`);
    nextRpm = path.join(next, `${NAME}-${NEXT}-1.x86_64.rpm`);
    signRpms(key, [nextRpm]);
    writeAptRepository({ dir: path.join(served, 'next', 'apt'), debs: [nextDeb], key, epoch: epoch + 1, origin: NAME });
    writeYumRepository({ dir: path.join(served, 'next', 'yum'), rpms: [nextRpm], key, epoch: epoch + 1 });
    // A package changed after the repository was signed.
    cpSync(path.join(served, 'genuine'), path.join(served, 'tampered'), { recursive: true });
    for (const f of [`apt/pool/main/${NAME}_${version}_amd64.deb`, `yum/Packages/${NAME}-${version}-1.x86_64.rpm`]) {
      const p = path.join(served, 'tampered', f);
      const bytes = readFileSync(p);
      bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
      writeFileSync(p, bytes);
    }
    // The same repositories signed by another key.
    cpSync(path.join(served, 'genuine'), path.join(served, 'other-key'), { recursive: true });
    const dists = path.join(served, 'other-key', 'apt/dists/stable');
    execFileSync('gpg', ['--homedir', path.join(work, 'other-key'), '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--output', path.join(dists, 'InRelease'), '--clearsign', path.join(dists, 'Release')]);
    other.sign(path.join(dists, 'Release'), path.join(dists, 'Release.gpg'));
    other.sign(path.join(served, 'other-key', 'yum/repodata/repomd.xml'));
    server = await startStaticHttp(served);
  }, 300_000);

  afterAll(() => {
    server?.stop();
    key?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('apt-get, signed-by the release key, in a scratch root', () => {
    /** A root whose dpkg database is this machine's (so libc6 & co. count as installed) and which trusts only the release key. */
    const aptRoot = (repo: string): { root: string; apt: (args: string[]) => ReturnType<typeof run>; sources: (url: string) => void } => {
      const root = mkdtempSync(path.join(work, 'apt-root-'));
      for (const d of ['etc/apt/keyrings', 'etc/apt/sources.list.d', 'etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'etc/apt/trusted.gpg.d',
        'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/log/apt']) {
        mkdirSync(path.join(root, d), { recursive: true });
      }
      copyFileSync('/var/lib/dpkg/status', path.join(root, 'var/lib/dpkg/status'));
      copyFileSync(path.join(RELEASE, `${NAME}.gpg`), path.join(root, 'etc/apt/keyrings', `${NAME}.gpg`));
      const sources = (url: string) => writeFileSync(path.join(root, 'etc/apt/sources.list'), `deb [signed-by=${root}/etc/apt/keyrings/${NAME}.gpg] ${url} stable main\n`);
      sources(`${server.url}/${repo}/apt`);
      const apt = (args: string[]) => run('apt-get', [
        '-o', `Dir=${root}/`, '-o', `Dir::State::status=${root}/var/lib/dpkg/status`, '-o', 'APT::Sandbox::User=root',
        '-o', 'APT::Architecture=amd64', '-o', 'APT::Architectures::=amd64', '-o', `Dir::Etc::TrustedParts=${root}/etc/apt/trusted.gpg.d`,
        '-o', `DPkg::Options::=--root=${root}`, '-o', 'DPkg::Options::=--force-script-chrootless', '-o', `DPkg::Options::=--log=${root}/var/log/dpkg.log`,
        '-o', 'DPkg::Options::=--force-confold', '-o', 'Debug::NoLocking=1', '-y', '-q', ...args,
      ], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      return { root, apt, sources };
    };
    const installed = (root: string) => run('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f=${Version} ${Status}', NAME]).stdout;

    it('installs the package, and a newer version upgrades it keeping an edited agent.env', () => {
      const { root, apt, sources } = aptRoot('genuine');
      const update = apt(['update']);
      expect(update.status, update.output).toBe(0);
      const inst = apt(['install', '--no-install-recommends', NAME]);
      expect(inst.status, inst.output).toBe(0);
      expect(installed(root)).toBe(`${version} install ok installed`);
      expect(run(path.join(root, 'usr/bin', NAME), ['--version']).stdout).toContain(version);
      writeFileSync(path.join(root, 'etc', NAME, 'agent.env'), `${readFileSync(path.join(root, 'etc', NAME, 'agent.env'), 'utf8')}ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}\n`);
      sources(`${server.url}/next/apt`);
      expect(apt(['update']).status).toBe(0);
      const upgrade = apt(['install', '--no-install-recommends', NAME]);
      expect(upgrade.status, upgrade.output).toBe(0);
      expect(installed(root)).toBe(`${NEXT} install ok installed`);
      expect(readFileSync(path.join(root, 'etc', NAME, 'agent.env'), 'utf8')).toContain(`ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`);
    });

    it('refuses a tampered package (hash mismatch against the signed index)', () => {
      const { root, apt } = aptRoot('tampered');
      expect(apt(['update']).status).toBe(0);
      const inst = apt(['install', '--no-install-recommends', NAME]);
      expect(inst.status, inst.output).not.toBe(0);
      expect(inst.output).toMatch(/Hash Sum mismatch|hashes? .*mismatch/i);
      expect(installed(root)).not.toContain('installed');
    });

    it('refuses a repository signed by another key', () => {
      const { root, apt } = aptRoot('other-key');
      const update = apt(['update']);
      expect(update.output).toMatch(/NO_PUBKEY|not signed|signatures couldn't be verified/);
      expect(apt(['install', '--no-install-recommends', NAME]).status).not.toBe(0);
      expect(installed(root)).not.toContain('installed');
    });
  });

  describe('dnf with gpgcheck=1 and repo_gpgcheck=1', () => {
    let provider: string;
    beforeAll(() => {
      // What a distribution's own packages provide (glibc, libstdc++...): a stand-in repository
      // so that dnf can resolve the agent's requirements in an empty root.
      provider = path.join(work, 'provider');
      const needs = run('rpm', ['-qpR', path.join(RELEASE, `${NAME}-${version}-1.x86_64.rpm`)]).stdout.split('\n').filter((l) => l !== '' && !l.startsWith('rpmlib('));
      const top = path.join(work, 'provider-build');
      for (const d of ['SPECS', 'RPMS', 'BUILD', 'BUILDROOT', 'SOURCES', 'SRPMS']) mkdirSync(path.join(top, d), { recursive: true });
      writeFileSync(path.join(top, 'SPECS/base.spec'), `Name: test-base-system\nVersion: 1\nRelease: 1\nSummary: stand-in for a distribution's base\nLicense: none\nBuildArch: noarch\n${[...new Set(needs)].map((n) => `Provides: ${n}`).join('\n')}\n%description\nstand-in\n%files\n`);
      execFileSync('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, path.join(top, 'SPECS/base.spec')], { stdio: 'ignore' });
      mkdirSync(provider);
      copyFileSync(path.join(top, 'RPMS/noarch/test-base-system-1-1.noarch.rpm'), path.join(provider, 'test-base-system-1-1.noarch.rpm'));
      execFileSync('createrepo_c', ['--quiet', provider]);
    });

    const dnf = (repo: string) => {
      const root = mkdtempSync(path.join(work, 'dnf-root-'));
      mkdirSync(path.join(root, 'etc/yum.repos.d'), { recursive: true });
      writeFileSync(path.join(root, 'etc/yum.repos.d', `${NAME}.repo`), `[${NAME}]
name=${NAME}
baseurl=${server.url}/${repo}/yum
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=${server.url}/genuine/${NAME}.asc

[test-base-system]
name=stand-in for the distribution's repositories
baseurl=file://${provider}
enabled=1
gpgcheck=0
`);
      const r = run('dnf', ['--installroot', root, `--setopt=reposdir=${root}/etc/yum.repos.d`, `--setopt=cachedir=${root}/var/cache/dnf`, '--releasever', '1',
        '--setopt=install_weak_deps=0', '--forcearch', 'x86_64', '-y', 'install', '--downloadonly', NAME], {});
      return { root, ...r };
    };

    it('resolves, downloads and checks the signed package from the signed repository', () => {
      const r = dnf('genuine');
      expect(r.status, r.output).toBe(0);
      const rpms = files(r.root).filter((f) => f.endsWith(`${NAME}-${version}-1.x86_64.rpm`));
      expect(rpms, r.output).toHaveLength(1);
      expect(r.output).toMatch(/Importing GPG key|Key imported successfully/);
    });

    it('refuses a tampered package', () => {
      const r = dnf('tampered');
      expect(r.status, r.output).not.toBe(0);
      expect(r.output).toMatch(/does not match|checksum|Checksum|Damaged|Downloading successful, but checksum doesn't match/i);
    });

    it('refuses a repository signed by another key', () => {
      const r = dnf('other-key');
      expect(r.status, r.output).not.toBe(0);
      expect(r.output).toMatch(/GPG signature verification error|repomd\.xml GPG|Bad GPG signature/i);
    });
  });

  describe('SSM Distributor', () => {
    it('manifest.json names every zip with its sha256, in the documented schema', () => {
      const manifest = JSON.parse(readFileSync(path.join(RELEASE, 'distributor/manifest.json'), 'utf8')) as DistributorManifest;
      expect(Object.keys(manifest).sort()).toEqual(['files', 'packages', 'publisher', 'schemaVersion', 'version']);
      expect(manifest.schemaVersion).toBe('2.0');
      expect(manifest.version).toBe(version);
      const zips = readdirSync(path.join(RELEASE, 'distributor')).filter((f) => f.endsWith('.zip')).sort();
      expect(Object.keys(manifest.files).sort()).toEqual(zips);
      for (const zip of zips) expect(manifest.files[zip]).toEqual({ checksums: { sha256: sha256File(path.join(RELEASE, 'distributor', zip)) } });
      const named = new Set<string>();
      for (const [platform, versions] of Object.entries(manifest.packages)) {
        expect(platform).toMatch(/^[a-z]+$/);
        for (const [platformVersion, arches] of Object.entries(versions)) {
          expect(platformVersion).toMatch(/^(_any|[0-9.]+)$/);
          for (const [arch, entry] of Object.entries(arches)) {
            expect(Object.values(DISTRIBUTOR_ARCH)).toContain(arch);
            expect(Object.keys(entry)).toEqual(['file']);
            expect(manifest.files[entry.file], entry.file).toBeDefined();
            named.add(entry.file);
          }
        }
      }
      expect([...named].sort()).toEqual(zips);
      for (const zip of zips) {
        const list = run('unzip', ['-Z1', path.join(RELEASE, 'distributor', zip)]).stdout.split('\n').filter(Boolean);
        expect(list, zip).toEqual(expect.arrayContaining(['install.sh', 'uninstall.sh', 'update.sh']));
        expect(list.filter((f) => /\.(deb|rpm)$/.test(f)), zip).toHaveLength(1);
      }
    });

    it.each(['deb', 'rpm'] as const)('%s: install.sh, update.sh to a newer version (agent.env kept) and uninstall.sh, as Distributor runs them, in --root mode', (format) => {
      const hostState = existsSync(`/var/lib/${NAME}`);
      const root = mkdtempSync(path.join(work, `distributor-root-${format}-`));
      if (format === 'deb') {
        for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers']) mkdirSync(path.join(root, d), { recursive: true });
        writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
      } else {
        // rpm runs the scriptlets chrooted into the root: a shell and the few tools they call.
        mkdirSync(path.join(root, 'bin'));
        copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
        chmodSync(path.join(root, 'bin/busybox'), 0o755);
        for (const tool of ['sh', 'env', 'mkdir', 'rm']) symlinkSync('busybox', path.join(root, 'bin', tool));
      }
      const installedVersion = () => format === 'deb'
        ? run('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f=${Version}', NAME])
        : run('rpm', ['--root', root, '-q', '--qf', '%{VERSION}', NAME]);
      const unpack = (zip: string) => {
        const dir = mkdtempSync(path.join(work, 'distributor-pkg-'));
        expect(run('unzip', ['-q', zip, '-d', dir]).status).toBe(0);
        return dir;
      };
      const script = (dir: string, name: string, env: Record<string, string> = {}) =>
        run('sh', [name, '--root', root], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BWS_REGION: 'eu-west-1', ...env } });
      const current = format === 'deb' ? { arch: 'amd64', file: nextDeb } : { arch: 'x86_64', file: nextRpm };
      const v1 = unpack(path.join(RELEASE, 'distributor', `${NAME}-${format}-${current.arch}.zip`));
      const install = script(v1, 'install.sh', { SSM_TARGET_GROUPS: ARN, SSM_SETTINGS: 'LOG_LEVEL=debug' });
      expect(install.status, install.output).toBe(0);
      expect(installedVersion().stdout).toBe(version);
      const config = () => readFileSync(path.join(root, 'etc', NAME, 'agent.env'), 'utf8');
      expect(config()).toContain(`ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`);
      expect(config()).toContain('ECS_ANYWHERE_LB_LOG_LEVEL=debug');
      expect(config()).toContain('AWS_REGION=eu-west-1');
      writeFileSync(path.join(root, 'etc', NAME, 'agent.env'), `${config()}# kept by hand\n`);
      const refused = script(v1, 'install.sh', { SSM_TARGET_GROUPS: 'not-an-arn' });
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(/not a target group ARN/);

      const nextDir = mkdtempSync(path.join(work, 'next-distributor-'));
      const next = { file: current.file, format, arch: current.arch };
      writeDistributorPackage({ dir: nextDir, scriptsDir: path.join(REPO, 'packaging/distributor'), packages: [next], version: NEXT, epoch: 0 });
      const v2 = unpack(path.join(nextDir, zipName(next)));
      const update = script(v2, 'update.sh');
      expect(update.status, update.output).toBe(0);
      expect(installedVersion().stdout).toBe(NEXT);
      expect(config()).toContain(`ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`);
      expect(config()).toContain('# kept by hand');

      const uninstall = script(v2, 'uninstall.sh');
      expect(uninstall.status, uninstall.output).toBe(0);
      // Only the package managers' own databases remember it.
      expect(files(root).filter((f) => f.includes(NAME) && !/^(var\/lib\/dpkg|var\/lib\/rpm|root\/\.rpmdb)\//.test(f))).toEqual([]);
      expect(installedVersion().status).not.toBe(0);
      // Nothing went to this machine's own paths.
      expect(existsSync(`/var/lib/${NAME}`)).toBe(hostState);
    });
  });
});
