// What `npm run release` made (dist/release), judged with the real tools: every file the issue
// lists is there; SHA256SUMS.asc verifies with the published key (gpg) and SHA256SUMS with
// sha256sum; a second run gives identical files; and the release tarball's own install.sh,
// fetching over http from a static server on 127.0.0.1, accepts the genuine release and refuses
// a SHA256SUMS signed by another key, a tampered tarball and a redirect to plain http.
// Runs when ECSLB_TEST_RELEASE=1 (`npm run test:release`, which CI runs after `npm run release`).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStaticHttp, type StaticHttp } from '../support/static-http.ts';
import { makeTestSigningKey } from '../support/test-signing-key.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RELEASE = path.join(REPO, 'dist/release');
const NAME = 'ecs-anywhere-lb-agent';
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const enabled = process.env.ECSLB_TEST_RELEASE === '1';
if (!enabled) console.warn('[release test] ECSLB_TEST_RELEASE is not 1: skipping (npm run test:release runs it after npm run release)');

const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Every file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe.skipIf(!enabled)('npm run release (dist/release)', () => {
  let work: string;
  beforeAll(() => {
    if (!existsSync(path.join(RELEASE, 'SHA256SUMS'))) throw new Error('dist/release/SHA256SUMS is missing: run npm run release first');
    work = mkdtempSync(path.join(tmpdir(), 'ecslb-release-test-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds every file the release publishes', () => {
    const expected = [
      `${NAME}-${version}-linux-x64.tar.gz`, `${NAME}-${version}-linux-arm64.tar.gz`,
      `${NAME}_${version}_amd64.deb`, `${NAME}_${version}_arm64.deb`, `${NAME}-${version}-1.x86_64.rpm`, `${NAME}-${version}-1.aarch64.rpm`,
      'SHA256SUMS', 'SHA256SUMS.asc', `${NAME}-${version}.cdx.json`, `${NAME}.gpg`, `${NAME}.asc`,
      'apt/dists/stable/InRelease', 'apt/dists/stable/Release', 'apt/dists/stable/Release.gpg',
      'apt/dists/stable/main/binary-amd64/Packages.gz', 'apt/dists/stable/main/binary-arm64/Packages.gz',
      `apt/pool/main/${NAME}_${version}_amd64.deb`, 'yum/repodata/repomd.xml', 'yum/repodata/repomd.xml.asc',
      `yum/Packages/${NAME}-${version}-1.x86_64.rpm`, 'distributor/manifest.json',
      `distributor/${NAME}-deb-amd64.zip`, `distributor/${NAME}-deb-arm64.zip`, `distributor/${NAME}-rpm-x86_64.zip`, `distributor/${NAME}-rpm-aarch64.zip`,
    ];
    const present = files(RELEASE);
    for (const f of expected) expect(present, f).toContain(f);
    const sbom = JSON.parse(readFileSync(path.join(RELEASE, `${NAME}-${version}.cdx.json`), 'utf8')) as { bomFormat: string; components: { name: string }[] };
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.components.map((c) => c.name)).toEqual(expect.arrayContaining(['dockerode', '@aws-sdk/client-elastic-load-balancing-v2']));
    expect(sbom.components.map((c) => c.name)).not.toContain('vitest');
  });

  it('SHA256SUMS.asc verifies with the published key (gpg), and sha256sum --check passes', () => {
    const home = mkdtempSync(path.join(work, 'gpg-'));
    const v = run('gpg', ['--homedir', home, '--batch', '--no-default-keyring', '--keyring', path.join(RELEASE, `${NAME}.gpg`), '--status-fd', '1', '--verify', 'SHA256SUMS.asc', 'SHA256SUMS'], { cwd: RELEASE });
    expect(v.status, v.output).toBe(0);
    expect(v.stdout).toMatch(/\[GNUPG:\] VALIDSIG /);
    const c = run('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: RELEASE });
    expect(c.status, c.output).toBe(0);
    const listed = readFileSync(path.join(RELEASE, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[1]);
    expect(listed).toEqual(expect.arrayContaining([`${NAME}-${version}-linux-x64.tar.gz`, `${NAME}_${version}_amd64.deb`, 'distributor/manifest.json']));
  });

  it('the tarball holds the binary, the installer with the pinned key, every unit, the licenses, a README; owner 0:0, one mtime', () => {
    const r = run('tar', ['-tvzf', path.join(RELEASE, `${NAME}-${version}-linux-x64.tar.gz`)]);
    expect(r.status, r.output).toBe(0);
    const top = `${NAME}-${version}-linux-x64`;
    const names = r.stdout.trim().split('\n').map((l) => l.split(/\s+/).at(-1));
    const units = readdirSync(path.join(REPO, 'systemd')).filter((f) => /\.(service|socket)$/.test(f));
    for (const f of [`${NAME}-linux-x64`, 'install.sh', 'ecs-anywhere-install-wrapper.sh', 'lib/trust.sh', 'lib/release-key.sh', `keys/${NAME}.gpg`, 'keys/amazon-ecs.gpg', 'LICENSE', 'NODE-LICENSE', 'README', ...units]) {
      expect(names, f).toContain(`${top}/${f}`);
    }
    expect(new Set(r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[1]))).toEqual(new Set(['0/0']));
    expect(new Set(r.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(3, 5).join(' '))).size).toBe(1);
  });

  it('a second run gives byte-identical tarballs, SHA256SUMS and every other file', () => {
    const again = path.join(work, 'again');
    const r = run(path.join(REPO, 'node_modules/.bin/tsx'), [path.join(REPO, 'scripts/release.ts'), '--out', again], { cwd: REPO });
    expect(r.status, r.output).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^signed with (a THROWAWAY key|the release key)/);
    expect(files(again)).toEqual(files(RELEASE));
    for (const f of files(RELEASE)) expect(readFileSync(path.join(again, f)).equals(readFileSync(path.join(RELEASE, f))), f).toBe(true);
  });

  describe('install.sh --url from the release tarball, against a server on 127.0.0.1', () => {
    let server: StaticHttp;
    let installSh: string;
    const tarball = `${NAME}-${version}-linux-x64.tar.gz`;

    beforeAll(async () => {
      const served = path.join(work, 'served');
      mkdirSync(served);
      cpSync(RELEASE, path.join(served, 'genuine'), { recursive: true, filter: (src) => !src.includes('/apt') && !src.includes('/yum') });
      // SHA256SUMS signed by a key that is not the release's.
      cpSync(path.join(served, 'genuine'), path.join(served, 'other-key'), { recursive: true });
      makeTestSigningKey(path.join(work, 'other-key-home'), 'another key').sign(path.join(served, 'other-key', 'SHA256SUMS'));
      // The tarball changed after SHA256SUMS was signed.
      cpSync(path.join(served, 'genuine'), path.join(served, 'tampered'), { recursive: true });
      writeFileSync(path.join(served, 'tampered', tarball), Buffer.concat([readFileSync(path.join(served, 'tampered', tarball)), Buffer.from('x')]));
      server = await startStaticHttp(served);
      const extracted = path.join(work, 'extracted');
      mkdirSync(extracted);
      expect(run('tar', ['-xzf', path.join(RELEASE, tarball), '-C', extracted]).status).toBe(0);
      installSh = path.join(extracted, `${NAME}-${version}-linux-x64`, 'install.sh');
    });
    afterAll(() => server?.stop());

    const install = (url: string) => {
      const root = mkdtempSync(path.join(work, 'root-'));
      const r = run('bash', [installSh, '--root', root, '--url', url, '--target-groups', ARN, '--no-check'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ECS_ANYWHERE_LB_INSTALL_ARCH: 'x86_64' } });
      return { ...r, root };
    };

    it('accepts the genuine release: signature, checksum, then the files', () => {
      const r = install(`${server.url}/genuine/${tarball}`);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toMatch(/signature ok: SHA256SUMS \(release key [0-9A-F]{40}\)/);
      expect(r.output).toContain(`sha256 ok: ${server.url}/genuine/${tarball}`);
      expect(existsSync(path.join(r.root, 'usr/local/bin', NAME))).toBe(true);
      expect(readFileSync(path.join(r.root, 'etc', NAME, 'agent.env'), 'utf8')).toContain(`ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=${ARN}`);
    });

    it.each([
      ['a SHA256SUMS signed by another key', 'other-key', /refusing .*: SHA256SUMS\.asc is not a valid signature of SHA256SUMS by the release key [0-9A-F]{40}/],
      ['a tampered tarball', 'tampered', /checksum mismatch for .*linux-x64\.tar\.gz: expected [0-9a-f]{64}, got [0-9a-f]{64}/],
      ['a redirect to plain http', 'redirect/genuine', /download of .* failed/],
    ])('refuses %s, changing nothing', (_name, dir, message) => {
      const r = install(`${server.url}/${dir}/${tarball}`);
      expect(r.status, r.output).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(files(r.root)).toEqual([]);
    });
  });
});
