// How `npm run release` takes its key (scripts/release/signing-key.ts), with real gpg: the
// armored private key and passphrase of RELEASE_GPG_KEY / RELEASE_GPG_PASSPHRASE sign a file that
// gpg then verifies; a wrong passphrase or something that is not a private key stops it with a
// message naming the variable; without RELEASE_GPG_KEY a throwaway key is made once and reused.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSigningKey, signDetached, THROWAWAY_USER_ID } from '../../scripts/release/signing-key.ts';

const work = mkdtempSync(path.join(tmpdir(), 'ecslb-release-key-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const EPOCH = 1_700_000_000;

/** An armored private key protected by `passphrase`, made with gpg. */
function privateKey(passphrase: string): string {
  const home = mkdtempSync(path.join(work, 'maker-'));
  const gpg = (args: string[]) => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', passphrase, ...args], { encoding: 'utf8' });
  gpg(['--quick-gen-key', 'release key test <release@example.invalid>', 'ed25519', 'sign', 'never']);
  return gpg(['--armor', '--export-secret-keys']);
}

function verifies(file: string, publicKey: Buffer): boolean {
  const home = mkdtempSync(path.join(work, 'verify-'));
  writeFileSync(path.join(home, 'key.gpg'), publicKey);
  return spawnSync('gpgv', ['--homedir', home, '--keyring', path.join(home, 'key.gpg'), `${file}.asc`, file]).status === 0;
}

describe('the release key', () => {
  const armored = privateKey('correct horse');

  it('RELEASE_GPG_KEY with its passphrase signs; the signature verifies with the exported public key', () => {
    const key = openSigningKey({ env: { RELEASE_GPG_KEY: armored, RELEASE_GPG_PASSPHRASE: 'correct horse' }, throwawayFile: path.join(work, 'unused.asc'), epoch: EPOCH });
    try {
      expect(key.throwaway).toBe(false);
      expect(key.fingerprint).toMatch(/^[0-9A-F]{40}$/);
      const file = path.join(work, 'SHA256SUMS');
      writeFileSync(file, 'something to sign\n');
      signDetached(key, file);
      expect(verifies(file, key.publicKey())).toBe(true);
    } finally {
      key.close();
    }
    expect(existsSync(path.join(work, 'unused.asc'))).toBe(false);
  });

  it.each([
    ['a wrong passphrase', { RELEASE_GPG_KEY: armored, RELEASE_GPG_PASSPHRASE: 'wrong' }, /Bad passphrase|bad passphrase|signing failed/],
    ['a public key instead of a private one', { RELEASE_GPG_KEY: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n...' }, /RELEASE_GPG_KEY does not hold an armored private key/],
  ])('%s stops with a clear error', (_name, env, message) => {
    const attempt = () => {
      const key = openSigningKey({ env, throwawayFile: path.join(work, 'unused.asc'), epoch: EPOCH });
      try {
        const file = path.join(work, 'to-sign');
        writeFileSync(file, 'x');
        signDetached(key, file);
      } finally {
        key.close();
      }
    };
    expect(attempt).toThrow(message);
  });

  it('without RELEASE_GPG_KEY: a throwaway key, saved 0600 and reused by the next run', () => {
    const dir = path.join(work, 'checkout-dist');
    mkdirSync(dir);
    const file = path.join(dir, 'throwaway-release-key.asc');
    const first = openSigningKey({ env: {}, throwawayFile: file, epoch: EPOCH });
    first.close();
    expect(first.throwaway).toBe(true);
    expect(spawnSync('stat', ['-c', '%a', file], { encoding: 'utf8' }).stdout.trim()).toBe('600');
    const second = openSigningKey({ env: {}, throwawayFile: file, epoch: EPOCH });
    second.close();
    expect(second.fingerprint).toBe(first.fingerprint);
    const listing = execFileSync('gpg', ['--homedir', mkdtempSync(path.join(work, 'show-')), '--show-keys', file], { encoding: 'utf8' });
    expect(listing).toContain(THROWAWAY_USER_ID);
  });
});
