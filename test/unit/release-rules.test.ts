// The release's pure rules, as tables: the Release file's date, how a fingerprint is shown, which
// installer files are executable, the pinned key as install.sh reads it (bash sources it), and
// which Distributor platforms and architectures each package serves.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DISTRIBUTOR_ARCH, DISTRIBUTOR_PLATFORMS, zipName } from '../../scripts/release/distributor.ts';
import { withReleaseDate } from '../../scripts/release/repositories.ts';
import { spacedFingerprint } from '../../scripts/release/signing-key.ts';
import { installerFiles, releaseKeyScript } from '../../scripts/release/tarballs.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('release rules', () => {
  it.each([
    [0, 'Date: Thu, 01 Jan 1970 00:00:00 +0000'],
    [1796320839, 'Date: Thu, 03 Dec 2026 18:00:39 +0000'],
  ])('the Release file is dated by SOURCE_DATE_EPOCH %i', (epoch, line) => {
    const release = 'Origin: x\nDate: Mon, 07 Dec 2026 18:44:58 UTC\nArchitectures: amd64\n';
    expect(withReleaseDate(release, epoch)).toBe(`Origin: x\n${line}\nArchitectures: amd64\n`);
  });

  it('a Release file without a Date: line is an error, not a silent pass', () => {
    expect(() => withReleaseDate('Origin: x\n', 0)).toThrow(/without a Date: line/);
  });

  it.each([
    ['F34C3DDAE72926B079BEAEC6BCE9D9A42D51784F', 'F34C 3DDA E729 26B0 79BE AEC6 BCE9 D9A4 2D51 784F'],
    ['ABCD', 'ABCD'],
  ])('fingerprint %s reads as %s', (raw, shown) => {
    expect(spacedFingerprint(raw)).toBe(shown);
  });

  it.each([
    ['install.sh', 0o755],
    ['ecs-anywhere-install-wrapper.sh', 0o755],
    ['lib/trust.sh', 0o644],
    ['lib/source.sh', 0o644],
    ['keys/amazon-ecs.gpg', 0o644],
  ])('installer file %s ships with mode %o', (name, mode) => {
    expect(installerFiles(path.join(REPO, 'installer')).find((f) => f.name === name)?.mode).toBe(mode);
  });

  it('lib/release-key.sh pins the fingerprint for bash, read-only', () => {
    const script = releaseKeyScript('6002C573FD3BC8B5B1B16608B33A2565824EB7C9');
    const r = spawnSync('bash', ['-c', 'eval "$1"; echo "$RELEASE_KEY_FINGERPRINT"; (RELEASE_KEY_FINGERPRINT=x) 2>/dev/null || echo readonly', '_', script], { encoding: 'utf8' });
    expect(r.stdout).toBe('6002C573FD3BC8B5B1B16608B33A2565824EB7C9\nreadonly\n');
  });

  it.each([
    [{ format: 'deb', arch: 'amd64' }, 'x86_64', 'ecs-anywhere-lb-agent-deb-amd64.zip', 'ubuntu'],
    [{ format: 'deb', arch: 'arm64' }, 'arm64', 'ecs-anywhere-lb-agent-deb-arm64.zip', 'raspbian'],
    [{ format: 'rpm', arch: 'x86_64' }, 'x86_64', 'ecs-anywhere-lb-agent-rpm-x86_64.zip', 'amazon'],
    [{ format: 'rpm', arch: 'aarch64' }, 'arm64', 'ecs-anywhere-lb-agent-rpm-aarch64.zip', 'redhat'],
  ] as const)('Distributor: %o is architecture %s in %s, for %s among others', (p, arch, zip, platform) => {
    expect(DISTRIBUTOR_ARCH[p.arch]).toBe(arch);
    expect(zipName({ ...p, file: 'x' })).toBe(zip);
    expect(DISTRIBUTOR_PLATFORMS[p.format]).toContain(platform);
  });
});
