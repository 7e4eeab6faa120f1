// The rotating credentials provider against real files: rotation by rename and in place
// (also when size and mtime stay the same), problems reported once each, recovery, the
// SDK-facing expiration that makes the client ask before every request.
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CredentialsFileError, createRotatingCredentials, maskAccessKeyId, sharedCredentialsLocation, type CredentialsEvent } from '../../agent/elb/credentials.ts';
import { credentialsFileText, credentialsNumber, writeCredentialsFile } from '../support/shared-credentials-file.ts';

let dir: string;
let file: string;
let events: CredentialsEvent[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecslb-creds-unit-'));
  file = join(dir, 'credentials');
  events = [];
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const fromFile = (extra: Record<string, string> = {}, now?: () => number) =>
  createRotatingCredentials({ AWS_SHARED_CREDENTIALS_FILE: file, ...extra }, { onEvent: (e) => events.push(e), ...(now ? { now } : {}) });

async function failure(p: Promise<unknown>): Promise<CredentialsFileError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CredentialsFileError);
  return err as CredentialsFileError;
}

describe('createRotatingCredentials', () => {
  it('uses static keys from the environment when AWS_ACCESS_KEY_ID is set', async () => {
    const creds = createRotatingCredentials({ AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 's' });
    expect(creds.source).toEqual({ kind: 'environment' });
    expect((await creds.provider()).accessKeyId).toBe('AKIDENV');
  });

  it('refuses environment keys without a secret, as the SDK provider would', async () => {
    const creds = createRotatingCredentials({ AWS_ACCESS_KEY_ID: 'AKIDENV' });
    await expect(creds.provider()).rejects.toMatchObject({ name: 'CredentialsProviderError', message: 'AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not' });
  });

  it('names the standard file and profile by default', () => {
    expect(sharedCredentialsLocation({ HOME: '/root' })).toMatchObject({ profile: 'default' });
    expect(sharedCredentialsLocation({ AWS_SHARED_CREDENTIALS_FILE: '/x', AWS_PROFILE: 'p' })).toEqual({ file: '/x', profile: 'p' });
  });

  it('reads key, secret and session token, and asks the SDK to come back within a minute', async () => {
    writeCredentialsFile(file, credentialsNumber(1));
    const now = 1_700_000_000_000;
    const identity = await fromFile({}, () => now).provider();
    expect(identity).toMatchObject({ accessKeyId: 'AKIDROT0001', secretAccessKey: 'secret-AKIDROT0001', sessionToken: credentialsNumber(1).sessionToken });
    // Inside the SDK's 5-minute refresh window: the client calls the provider before each request.
    expect(identity.expiration?.getTime()).toBe(now + 60_000);
    expect(events).toEqual([{ kind: 'loaded', file, profile: 'default', accessKeyId: 'AKIDROT0001' }]);
  });

  it('sees every rotation by rename at once, even when mtime and size do not change', async () => {
    const creds = fromFile();
    writeCredentialsFile(file, credentialsNumber(1));
    const { mtime } = statSync(file);
    expect((await creds.provider()).accessKeyId).toBe('AKIDROT0001');
    for (let n = 2; n <= 5; n++) {
      writeCredentialsFile(file, credentialsNumber(n));
      utimesSync(file, mtime, mtime); // as if within the same clock tick
      expect((await creds.provider()).accessKeyId).toBe(`AKIDROT000${n}`);
    }
    expect(events.map((e) => e.kind)).toEqual(['loaded', 'rotated', 'rotated', 'rotated', 'rotated']);
    expect(events[1]).toMatchObject({ accessKeyId: 'AKIDROT0002', previousAccessKeyId: 'AKIDROT0001' });
  });

  it('sees an in-place rewrite of the same size and mtime (the inode change time still moves)', async () => {
    const creds = fromFile();
    writeFileSync(file, credentialsFileText(credentialsNumber(1)));
    const { mtime, size } = statSync(file);
    await creds.provider();
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, credentialsFileText(credentialsNumber(2)));
    utimesSync(file, mtime, mtime);
    expect(statSync(file).size).toBe(size);
    expect((await creds.provider()).accessKeyId).toBe('AKIDROT0002');
  });

  it('checks the file before each answer, even one served from its cache', async () => {
    let now = 1_700_000_000_000;
    const creds = fromFile({}, () => now);
    writeCredentialsFile(file, credentialsNumber(1));
    await creds.provider();
    now += 59_000;
    expect((await creds.provider()).accessKeyId).toBe('AKIDROT0001');
    rmSync(file);
    expect((await failure(creds.provider())).code).toBe('CredentialsFileMissing');
  });

  it('reports a missing file once however often it is asked, then loads it when it appears', async () => {
    const creds = fromFile();
    for (let i = 0; i < 5; i++) {
      const err = await failure(creds.provider());
      expect(err.code).toBe('CredentialsFileMissing');
      expect(err.message).toContain(file);
    }
    expect(events).toEqual([{ kind: 'problem', code: 'CredentialsFileMissing', file, message: expect.stringContaining('missing') }]);
    writeCredentialsFile(file, credentialsNumber(7));
    expect((await creds.provider()).accessKeyId).toBe('AKIDROT0007');
    expect(events.map((e) => e.kind)).toEqual(['problem', 'loaded']);
  });

  it('tells an unreadable file and a missing profile apart, each once', async () => {
    const creds = fromFile({ AWS_PROFILE: 'ssm' });
    mkdirSync(file); // a directory where the file should be
    expect((await failure(creds.provider())).code).toBe('CredentialsFileUnreadable');
    expect((await failure(creds.provider())).code).toBe('CredentialsFileUnreadable');
    rmSync(file, { recursive: true });
    writeCredentialsFile(file, credentialsNumber(1)); // profile "default", not "ssm"
    const err = await failure(creds.provider());
    expect(err.code).toBe('CredentialsProfileMissing');
    expect(err.message).toContain('"ssm"');
    await failure(creds.provider());
    writeCredentialsFile(file, credentialsNumber(2), 'ssm');
    expect((await creds.provider()).accessKeyId).toBe('AKIDROT0002');
    expect(events.map((e) => (e.kind === 'problem' ? e.code : e.kind))).toEqual(['CredentialsFileUnreadable', 'CredentialsProfileMissing', 'loaded']);
  });

  it('reports a problem again after a recovery', async () => {
    const creds = fromFile();
    writeCredentialsFile(file, credentialsNumber(1));
    await creds.provider();
    rmSync(file);
    await failure(creds.provider());
    writeCredentialsFile(file, credentialsNumber(2));
    await creds.provider();
    rmSync(file);
    await failure(creds.provider());
    expect(events.map((e) => e.kind)).toEqual(['loaded', 'problem', 'loaded', 'problem']);
  });

  it('re-reads after invalidate() and shares one read between concurrent callers', async () => {
    const creds = fromFile();
    writeCredentialsFile(file, credentialsNumber(1));
    const all = await Promise.all([creds.provider(), creds.provider(), creds.provider()]);
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['AKIDROT0001']));
    creds.invalidate();
    expect((await creds.provider()).accessKeyId).toBe('AKIDROT0001');
    expect(events.map((e) => e.kind)).toEqual(['loaded']);
  });

  it('masks access key ids in what it logs', () => {
    expect(maskAccessKeyId('ASIAXXXXXXXXXXXX1234')).toBe('ASIA…1234');
    expect(maskAccessKeyId('short')).toBe('short');
  });
});
