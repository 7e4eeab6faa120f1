/**
 * The upper-case variables a shell script reads and never assigns: what it takes from its
 * environment. Comments and single-quoted text (never expanded) are left out.
 */
export function environmentReads(script: string): string[] {
  const code = script.replace(/^\s*#.*$/gm, '').replace(/'[^'\n]*'/g, "''");
  const assigned = new Set([...code.matchAll(/^\s*([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]));
  const read = new Set([...code.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1] as string));
  return [...read].filter((v) => !assigned.has(v)).sort();
}
