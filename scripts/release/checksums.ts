/** SHA256SUMS: the release's files and their SHA-256, in sha256sum's format, signed as a whole. */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Writes `dir`/SHA256SUMS listing `files` (paths relative to `dir`, sorted) for `sha256sum --check`. */
export function writeSha256Sums(dir: string, files: readonly string[]): string {
  const out = join(dir, 'SHA256SUMS');
  const lines = files.map((f) => relative(dir, f)).sort().map((name) => `${sha256File(join(dir, name))}  ${name}\n`);
  writeFileSync(out, lines.join(''));
  return out;
}
