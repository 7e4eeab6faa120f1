/**
 * The package repositories of a release, as static files any bucket or web server can serve:
 *
 *   apt/   pool/main/*.deb, dists/stable/main/binary-{amd64,arm64}/Packages(.gz),
 *          dists/stable/{Release,InRelease,Release.gpg}   (apt-ftparchive; gpg --clearsign, -abs)
 *   yum/   Packages/*.rpm (signed with rpm --addsign), repodata/ (createrepo_c),
 *          repodata/repomd.xml.asc                         (gpg --detach-sign --armor)
 *
 * Clients pin the key: apt with signed-by=, dnf with gpgcheck=1, repo_gpgcheck=1 and gpgkey=.
 * Dates come from SOURCE_DATE_EPOCH, so the same inputs give the same files.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { signDetached, type SigningKey } from './signing-key.ts';

export const APT_SUITE = 'stable';
export const APT_COMPONENT = 'main';
export const DEB_ARCHES = ['amd64', 'arm64'] as const;

function run(tool: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync(tool, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Signs .rpm files in place (rpm --addsign with the release key, at the release's time). */
export function signRpms(key: SigningKey, rpms: readonly string[]): void {
  // rpm runs gpg itself: its home, key and options come in as macros.
  const extra = key.signOptions.filter((o) => o !== '--local-user' && o !== key.fingerprint).join(' ');
  const gpg = run('sh', ['-c', 'command -v gpg']).trim();
  run('rpm', ['--define', `__gpg ${gpg}`, '--define', `_gpg_path ${key.home}`, '--define', `_gpg_name ${key.fingerprint}`, '--define', `_gpg_sign_cmd_extra_args --batch ${extra}`, '--addsign', ...rpms]);
}

/** The Release file's Date: field from the release's time (apt-ftparchive writes the current time). */
export function withReleaseDate(release: string, epoch: number): string {
  const date = new Date(epoch * 1000).toUTCString().replace('GMT', '+0000');
  if (!/^Date: .*$/m.test(release)) throw new Error('apt-ftparchive wrote a Release file without a Date: line');
  return release.replace(/^Date: .*$/m, `Date: ${date}`);
}

export function writeAptRepository(options: { dir: string; debs: readonly string[]; key: SigningKey; epoch: number; origin: string }): void {
  const { dir, key } = options;
  const pool = join(dir, 'pool', APT_COMPONENT);
  mkdirSync(pool, { recursive: true });
  for (const deb of options.debs) copyFileSync(deb, join(pool, basename(deb)));
  const dists = join(dir, 'dists', APT_SUITE);
  for (const arch of DEB_ARCHES) {
    const indexDir = join(dists, APT_COMPONENT, `binary-${arch}`);
    mkdirSync(indexDir, { recursive: true });
    const packages = run('apt-ftparchive', ['--arch', arch, 'packages', `pool/${APT_COMPONENT}`], { cwd: dir });
    writeFileSync(join(indexDir, 'Packages'), packages);
    writeFileSync(join(indexDir, 'Packages.gz'), gzipSync(packages, { level: 9 }));
  }
  const release = run('apt-ftparchive', [
    '-o', `APT::FTPArchive::Release::Origin=${options.origin}`,
    '-o', `APT::FTPArchive::Release::Label=${options.origin}`,
    '-o', `APT::FTPArchive::Release::Suite=${APT_SUITE}`,
    '-o', `APT::FTPArchive::Release::Codename=${APT_SUITE}`,
    '-o', `APT::FTPArchive::Release::Architectures=${DEB_ARCHES.join(' ')}`,
    '-o', `APT::FTPArchive::Release::Components=${APT_COMPONENT}`,
    'release', '.',
  ], { cwd: dists });
  writeFileSync(join(dists, 'Release'), withReleaseDate(release, options.epoch));
  key.gpg([...key.signOptions, '--yes', '--output', join(dists, 'InRelease'), '--clearsign', join(dists, 'Release')]);
  key.gpg([...key.signOptions, '--yes', '--armor', '--output', join(dists, 'Release.gpg'), '--detach-sign', join(dists, 'Release')]);
}

export function writeYumRepository(options: { dir: string; rpms: readonly string[]; key: SigningKey; epoch: number }): void {
  const packages = join(options.dir, 'Packages');
  mkdirSync(packages, { recursive: true });
  const time = new Date(options.epoch * 1000);
  for (const rpm of options.rpms) {
    // primary.xml records each file's mtime.
    copyFileSync(rpm, join(packages, basename(rpm)));
    utimesSync(join(packages, basename(rpm)), time, time);
  }
  run('createrepo_c', ['--quiet', '--no-database', '--revision', String(options.epoch), '--set-timestamp-to-revision', '--simple-md-filenames', options.dir], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(options.epoch) },
  });
  signDetached(options.key, join(options.dir, 'repodata', 'repomd.xml'));
}
