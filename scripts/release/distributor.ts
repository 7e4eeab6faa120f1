/**
 * The AWS Systems Manager Distributor package of a release: one zip per package (deb amd64 and
 * arm64, rpm x86_64 and aarch64), each holding the package and packaging/distributor/
 * (install.sh, update.sh, uninstall.sh and the common.sh they source) at its root, and
 * manifest.json naming them by platform and architecture with their sha256, in the schema the
 * Systems Manager guide documents ("Create a package": schemaVersion 2.0, packages ->
 * platform -> platform version -> architecture -> file, files -> name -> checksums.sha256).
 * Zips are reproducible: sorted entries, one mtime, no extra attributes (zip -X).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { sha256File } from './checksums.ts';

/** Which platforms (Distributor's names) take which kind of package. */
export const DISTRIBUTOR_PLATFORMS: Record<'deb' | 'rpm', readonly string[]> = {
  deb: ['debian', 'raspbian', 'ubuntu'],
  rpm: ['amazon', 'centos', 'fedora', 'opensuse', 'opensuseleap', 'oracle', 'redhat', 'rocky', 'suse'],
};
/** Distributor's architecture names for the packages' ones. */
export const DISTRIBUTOR_ARCH: Record<string, string> = { amd64: 'x86_64', x86_64: 'x86_64', arm64: 'arm64', aarch64: 'arm64' };

export interface DistributorPackage {
  readonly file: string;
  readonly format: 'deb' | 'rpm';
  /** The package's own architecture name: amd64, arm64, x86_64, aarch64. */
  readonly arch: string;
}

export interface DistributorManifest {
  schemaVersion: '2.0';
  version: string;
  publisher: string;
  packages: Record<string, Record<string, Record<string, { file: string }>>>;
  files: Record<string, { checksums: { sha256: string } }>;
}

export const zipName = (p: DistributorPackage): string => `ecs-anywhere-lb-agent-${p.format}-${p.arch}.zip`;

function writeZip(out: string, entries: readonly { name: string; source: string; mode: number }[], epoch: number): void {
  const stage = mkdtempSync(join(tmpdir(), 'ecs-anywhere-lb-agent-distributor-'));
  try {
    const time = new Date(epoch * 1000);
    for (const e of entries) {
      copyFileSync(e.source, join(stage, e.name));
      chmodSync(join(stage, e.name), e.mode);
      utimesSync(join(stage, e.name), time, time);
    }
    // TZ=UTC: zip stores local times; -X: no uid/gid or extra time fields; -D: no directory entries.
    execFileSync('zip', ['-q', '-X', '-D', '-1', out, ...entries.map((e) => e.name).sort()], { cwd: stage, env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Writes the zips and manifest.json into `dir`; returns the manifest. */
export function writeDistributorPackage(options: { dir: string; scriptsDir: string; packages: readonly DistributorPackage[]; version: string; epoch: number }): DistributorManifest {
  mkdirSync(options.dir, { recursive: true });
  const scripts = readdirSync(options.scriptsDir).filter((f) => f.endsWith('.sh')).sort();
  for (const required of ['install.sh', 'uninstall.sh', 'update.sh']) {
    if (!scripts.includes(required)) throw new Error(`${options.scriptsDir} has no ${required}: Distributor needs it`);
  }
  const manifest: DistributorManifest = { schemaVersion: '2.0', version: options.version, publisher: 'ecs-anywhere-lb-agent', packages: {}, files: {} };
  for (const p of options.packages) {
    const name = zipName(p);
    const out = join(options.dir, name);
    writeZip(out, [
      ...scripts.map((s) => ({ name: s, source: join(options.scriptsDir, s), mode: 0o755 })),
      { name: basename(p.file), source: p.file, mode: 0o644 },
    ], options.epoch);
    manifest.files[name] = { checksums: { sha256: sha256File(out) } };
    const arch = DISTRIBUTOR_ARCH[p.arch];
    if (arch === undefined) throw new Error(`no Distributor architecture for ${p.arch}`);
    for (const platform of DISTRIBUTOR_PLATFORMS[p.format]) {
      manifest.packages[platform] ??= { _any: {} };
      (manifest.packages[platform]._any as Record<string, { file: string }>)[arch] = { file: name };
    }
  }
  writeFileSync(join(options.dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
