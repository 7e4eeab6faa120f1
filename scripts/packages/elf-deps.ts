/**
 * What the executables need from the system, read from their ELF headers (readelf reads either
 * architecture), checked against what the packages declare: a Node upgrade that needs a newer
 * glibc or libstdc++ fails the build instead of shipping a package that installs and cannot run.
 */
import { execFileSync } from 'node:child_process';

/** The shared libraries the Node binary links, each with the newest symbol version the packages promise. */
export const NEEDED_LIBRARIES: Readonly<Record<string, { readonly family: string; readonly newest: string } | undefined>> = {
  'libc.so.6': { family: 'GLIBC', newest: '2.28' },
  'libm.so.6': { family: 'GLIBC', newest: '2.28' },
  'libdl.so.2': { family: 'GLIBC', newest: '2.28' },
  'libpthread.so.0': { family: 'GLIBC', newest: '2.28' },
  'ld-linux-x86-64.so.2': { family: 'GLIBC', newest: '2.28' },
  'ld-linux-aarch64.so.1': { family: 'GLIBC', newest: '2.28' },
  'libstdc++.so.6': { family: 'GLIBCXX', newest: '3.4.21' },
  'libgcc_s.so.1': { family: 'GCC', newest: '4.2.0' },
};

/** Debian's names for them: libstdc++6 >= 5.2 provides GLIBCXX_3.4.21, libgcc-s1 >= 4.2 GCC_4.2.0 (arm64 needs it). */
export const DEB_DEPENDS = 'libc6 (>= 2.28), libgcc-s1 (>= 4.2) | libgcc1 (>= 1:4.2), libstdc++6 (>= 5.2)';

/** One NEEDED library and the symbol versions taken from it. */
export interface ElfNeed {
  readonly file: string;
  readonly versions: readonly string[];
}

/** Parses `readelf -d -V --wide`: the NEEDED entries and the version needs per file. */
export function parseReadelf(text: string): ElfNeed[] {
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] as string);
  const versions = new Map<string, string[]>(needed.map((f) => [f, []]));
  let file: string | undefined;
  for (const line of text.split('\n')) {
    const f = /File: (\S+)\s+Cnt:/.exec(line);
    if (f) file = f[1];
    const n = /Name: (\S+)\s+Flags:/.exec(line);
    if (n && file !== undefined) versions.set(file, [...(versions.get(file) ?? []), n[1] as string]);
  }
  return [...versions].map(([f, v]) => ({ file: f, versions: v }));
}

const newer = (a: string, b: string): boolean => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return false;
};

/** Every way the needs exceed what the packages declare (empty: they fit). */
export function unmetNeeds(needs: readonly ElfNeed[]): string[] {
  const problems: string[] = [];
  for (const { file, versions } of needs) {
    const known = NEEDED_LIBRARIES[file];
    if (!known) {
      problems.push(`links ${file}, which the packages do not depend on`);
      continue;
    }
    for (const v of versions) {
      const [family, number] = v.split('_');
      if (family === known.family && number !== undefined && newer(number, known.newest)) {
        problems.push(`needs ${v} from ${file}; the packages promise ${known.family}_${known.newest} at most`);
      }
    }
  }
  return problems;
}

/** Reads and checks a binary; throws naming every unmet need. */
export function checkElfNeeds(binary: string): ElfNeed[] {
  const text = execFileSync('readelf', ['-d', '-V', '--wide', binary], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const needs = parseReadelf(text);
  const problems = unmetNeeds(needs);
  if (problems.length > 0) {
    throw new Error(`${binary}:\n  ${problems.join('\n  ')}\n  update NEEDED_LIBRARIES and DEB_DEPENDS in scripts/packages/elf-deps.ts (and check the distributions README names)`);
  }
  return needs;
}
