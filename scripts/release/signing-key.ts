/**
 * The release's OpenPGP key in a private GnuPG home: the one RELEASE_GPG_KEY gives (armored
 * private key, RELEASE_GPG_PASSPHRASE its passphrase), or a throwaway key made for local
 * builds and kept in dist/throwaway-release-key.asc, so that a second run from the same
 * checkout signs with the same key and gives the same files. Every signature is made at the
 * release's SOURCE_DATE_EPOCH, or just after the key's creation when the key is younger
 * (verifiers refuse a signature older than its key), with gpg --faked-system-time: RSA
 * signatures are deterministic, so signing the same bytes twice gives the same signature.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The user id of the throwaway key: says what it is wherever it shows. */
export const THROWAWAY_USER_ID = 'ecs-anywhere-lb-agent THROWAWAY release key (local build, not for publishing)';

export interface SigningKey {
  /** The GnuPG home holding the secret key (0700, removed by close()). */
  readonly home: string;
  /** The primary key's fingerprint, 40 hex digits. */
  readonly fingerprint: string;
  readonly throwaway: boolean;
  /** gpg's options for a signature at the release's time, non-interactively. */
  readonly signOptions: readonly string[];
  /** Runs gpg in this home. */
  gpg(args: readonly string[], input?: string | Buffer): Buffer;
  /** The public key, binary (for signed-by= and the installer's keyring). */
  publicKey(): Buffer;
  close(): void;
}

export function openSigningKey(options: { env: NodeJS.ProcessEnv; throwawayFile: string; epoch: number }): SigningKey {
  const home = mkdtempSync(join(tmpdir(), 'ecs-anywhere-lb-agent-release-gnupg-'));
  const passphraseFile = join(home, 'passphrase');
  const gpg = (args: readonly string[], input?: string | Buffer): Buffer =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--quiet', ...args], { input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  try {
    const given = options.env.RELEASE_GPG_KEY;
    let throwaway = false;
    if (given !== undefined && given.trim() !== '') {
      if (!given.includes('BEGIN PGP PRIVATE KEY BLOCK')) throw new Error('RELEASE_GPG_KEY does not hold an armored private key (-----BEGIN PGP PRIVATE KEY BLOCK-----)');
      writeFileSync(passphraseFile, options.env.RELEASE_GPG_PASSPHRASE ?? '', { mode: 0o600 });
      gpg(['--pinentry-mode', 'loopback', '--passphrase-file', passphraseFile, '--import'], given);
    } else {
      throwaway = true;
      writeFileSync(passphraseFile, '', { mode: 0o600 });
      if (!existsSync(options.throwawayFile)) {
        gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', THROWAWAY_USER_ID, 'rsa3072', 'sign', 'never']);
        writeFileSync(options.throwawayFile, gpg(['--armor', '--export-secret-keys']), { mode: 0o600 });
      } else {
        gpg(['--import'], readFileSync(options.throwawayFile));
      }
    }
    const listing = gpg(['--with-colons', '--list-secret-keys']).toString('utf8').split('\n');
    const primaries = listing.flatMap((l, i) => (l.startsWith('sec:') && listing[i + 1]?.startsWith('fpr:') ? [{ created: Number(l.split(':')[5]), fingerprint: listing[i + 1]?.split(':')[9] as string }] : []));
    if (primaries.length !== 1) throw new Error(`the release key must be exactly one secret key; RELEASE_GPG_KEY holds ${primaries.length}`);
    const { fingerprint, created } = primaries[0] as { fingerprint: string; created: number };
    const signedAt = Math.max(options.epoch, created + 1);
    const signOptions = ['--local-user', fingerprint, '--pinentry-mode', 'loopback', '--passphrase-file', passphraseFile, '--faked-system-time', `${signedAt}!`, '--digest-algo', 'SHA256'];
    return {
      home,
      fingerprint,
      throwaway,
      signOptions,
      gpg,
      publicKey: () => gpg(['--export', fingerprint]),
      close: () => rmSync(home, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString('utf8').trim();
    throw new Error(`the release key: ${stderr ? stderr : err instanceof Error ? err.message : String(err)}`);
  }
}

/** An armored detached signature of `file` at `file`.asc (or `out`). */
export function signDetached(key: SigningKey, file: string, out = `${file}.asc`): void {
  key.gpg([...key.signOptions, '--armor', '--yes', '--output', out, '--detach-sign', file]);
}

/** "F34C 3DDA ..." : a fingerprint as people read it. */
export const spacedFingerprint = (fingerprint: string): string => fingerprint.replace(/(.{4})(?!$)/g, '$1 ');
