/**
 * A real OpenPGP key made with gpg for a test (ed25519, no passphrase), to sign SHA256SUMS the
 * way `npm run release` does and to play "another key" against a release's own.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestSigningKey {
  readonly fingerprint: string;
  /** Writes an armored detached signature of `file` to `out` (default `file`.asc). */
  sign(file: string, out?: string): void;
  /** The public key, binary (a keyring gpgv and signed-by= accept). */
  publicKey(): Buffer;
}

export function makeTestSigningKey(home: string, userId: string): TestSigningKey {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const gpg = (args: string[]): Buffer => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  gpg(['--quick-gen-key', userId, 'ed25519', 'sign', 'never']);
  const fingerprint = gpg(['--with-colons', '--list-secret-keys']).toString('utf8').split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9];
  if (fingerprint === undefined) throw new Error(`gpg made no key in ${home}`);
  return {
    fingerprint,
    sign: (file, out = `${file}.asc`) => void gpg(['--yes', '--armor', '--local-user', fingerprint, '--output', out, '--detach-sign', file]),
    publicKey: () => gpg(['--export', fingerprint]),
  };
}

/** Writes `dir`/SHA256SUMS for the files directly in `dir` and signs it with `key` (SHA256SUMS.asc). */
export function writeSignedSums(dir: string, key: TestSigningKey): void {
  const names = readdirSync(dir).filter((n) => !n.startsWith('SHA256SUMS') && statSync(path.join(dir, n)).isFile()).sort();
  const sums = names.map((n) => `${createHash('sha256').update(readFileSync(path.join(dir, n))).digest('hex')}  ${n}\n`).join('');
  writeFileSync(path.join(dir, 'SHA256SUMS'), sums);
  key.sign(path.join(dir, 'SHA256SUMS'));
}
