/** A .deb from a staged tree, offline: DEBIAN/control, conffiles, md5sums, maintainer scripts, then dpkg-deb. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEB_DEPENDS } from './elf-deps.ts';
import type { PackageMeta } from './meta.ts';

/** Files under `dir`, relative and sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out;
}

function installedSizeKiB(tree: string): number {
  return filesUnder(tree).reduce((sum, f) => sum + Math.ceil(statSync(join(tree, f)).size / 1024), 0);
}

/** The control file; the description's continuation lines start with a space, blank ones are " .". */
export function debControl(meta: PackageMeta, arch: string, installedSize: number): string {
  const long = meta.description.map((l) => (l === '' ? ' .' : ` ${l}`)).join('\n');
  return [
    `Package: ${meta.name}`,
    `Version: ${meta.debVersion}`,
    `Architecture: ${arch}`,
    `Maintainer: ${meta.maintainer}`,
    `Installed-Size: ${installedSize}`,
    `Depends: ${DEB_DEPENDS}`,
    'Section: admin',
    'Priority: optional',
    ...(meta.homepage ? [`Homepage: ${meta.homepage}`] : []),
    `Description: ${meta.summary}`,
    long,
    '',
  ].join('\n');
}

/**
 * Builds OUT from the tree (which becomes the package's /). Everything under /etc is a conffile,
 * so dpkg keeps an edited agent.env on upgrades and removes it only on purge.
 */
export function buildDeb(options: { tree: string; meta: PackageMeta; arch: string; scripts: Record<string, string>; out: string; compressLevel: number }): void {
  const { tree, meta, arch, scripts, out } = options;
  const control = join(tree, 'DEBIAN');
  mkdirSync(control, { mode: 0o755 });
  const files = filesUnder(tree).filter((f) => !f.startsWith('DEBIAN/'));
  writeFileSync(join(control, 'md5sums'), files.map((f) => `${createHash('md5').update(readFileSync(join(tree, f))).digest('hex')}  ${f}\n`).join(''));
  const conffiles = files.filter((f) => f.startsWith('etc/')).map((f) => `/${f}\n`).join('');
  if (conffiles) writeFileSync(join(control, 'conffiles'), conffiles);
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(join(control, name), text);
    chmodSync(join(control, name), 0o755);
  }
  writeFileSync(join(control, 'control'), debControl(meta, arch, installedSizeKiB(tree)));
  for (const f of readdirSync(control)) if (!(f in scripts)) chmodSync(join(control, f), 0o644);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Zxz`, `-z${options.compressLevel}`, '--build', tree, out], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SOURCE_DATE_EPOCH: String(meta.sourceDateEpoch) },
  });
}
