/**
 * The packages' maintainer scripts, made from packaging/: the flavour's unit helpers
 * (systemd-deb.sh or systemd-rpm.sh), the shared lifecycle (lifecycle.sh), and the one call
 * each script makes for the arguments dpkg or rpm pass it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export type Flavour = 'deb' | 'rpm';

/** What each script does, by package manager: dpkg passes words, rpm a count of instances left. */
const CALLS: Record<Flavour, Record<string, string>> = {
  deb: {
    postinst: `case "$1" in
  configure)
    # A reinstall after "dpkg -r" passes the old version too: the unit was disabled then.
    if [ -z "$2" ] || [ -e "$STATE_DIR/.package-removed" ]; then rm -f "$STATE_DIR/.package-removed"; installed first; else installed upgrade; fi ;;
  abort-upgrade | abort-remove | abort-deconfigure) installed upgrade ;;
esac`,
    prerm: `case "$1" in
  remove) removing; mkdir -p "$STATE_DIR"; : >"$STATE_DIR/.package-removed" ;;
  # upgrade, failed-upgrade, deconfigure: the agent keeps running and its targets stay.
esac`,
    postrm: `case "$1" in
  purge) removed purge ;;
  remove) removed remove ;;
esac`,
  },
  rpm: {
    // The new package's %post restarts on upgrade ($1 >= 2); the old one's %preun/%postun then see $1 >= 1 and do nothing.
    post: 'if [ "$1" -eq 1 ]; then installed first; else installed upgrade; fi',
    preun: 'if [ "$1" -eq 0 ]; then removing; fi',
    postun: 'if [ "$1" -eq 0 ]; then removed remove; fi',
  },
};

/** The unit files the packages, the tarballs and install.sh ship: every *.service and *.socket of `systemdDir`, sorted. */
export function unitFiles(systemdDir: string): string[] {
  return readdirSync(systemdDir).filter((f) => /^[A-Za-z0-9@._-]+\.(service|socket)$/.test(f)).sort();
}

/**
 * Where the scripts find the system: dpkg's DPKG_ROOT (set by `dpkg --root DIR
 * --force-script-chrootless`, empty otherwise) for a .deb; nothing for an .rpm, whose
 * scriptlets rpm runs chrooted into its --root.
 */
const SYSTEM_ROOT: Record<Flavour, string> = { deb: '${DPKG_ROOT:-}', rpm: '' };

/**
 * The scripts of one flavour, each a complete POSIX sh script that enables every unit in
 * `units`. `root` replaces the flavour's root with a fixed directory: only the tests' copies
 * have one (the shipped scripts read no variable of their own).
 */
export function maintainerScripts(flavour: Flavour, packagingDir: string, units: readonly string[], root?: string): Record<string, string> {
  const helpers = readFileSync(join(packagingDir, `systemd-${flavour}.sh`), 'utf8');
  const lifecycle = readFileSync(join(packagingDir, 'lifecycle.sh'), 'utf8');
  for (const unit of units) if (!/^[A-Za-z0-9@._-]+$/.test(unit)) throw new Error(`unit name "${unit}" has characters a shell word cannot hold`);
  const rootLine = root === undefined ? `ROOT=${SYSTEM_ROOT[flavour]}` : `ROOT='${root.replace(/'/g, `'\\''`)}'`;
  const head = `${rootLine}\nUNITS='${units.join(' ')}'\n`;
  return Object.fromEntries(
    Object.entries(CALLS[flavour]).map(([name, call]) => [name, `#!/bin/sh\n# ${name} of ecs-anywhere-lb-agent (generated from packaging/ by scripts/build-packages.ts)\n# shellcheck disable=SC2317 # the shared functions: each script calls some of them\nset -e\n\n${head}${lifecycle}\n${helpers}\n${call}\nexit 0\n`]),
  );
}
