// A shared AWS credentials file that rotates the way the SSM agent rotates root's file on
// an ECS Anywhere host: the whole file is written to a temporary name in the same
// directory and renamed over the old one, so a reader sees either the old or the new file.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One set of temporary credentials. */
export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** Credentials number `n` of a series: distinct, recognisable key ids (AKIDROT0001, ...). */
export function credentialsNumber(n: number, prefix = 'AKIDROT'): TestCredentials {
  const id = `${prefix}${String(n).padStart(4, '0')}`;
  return { accessKeyId: id, secretAccessKey: `secret-${id}`, sessionToken: `token-${id}-${'x'.repeat(40)}` };
}

/** The file text the SSM agent writes: one profile with key, secret and session token. */
export function credentialsFileText(c: TestCredentials, profile = 'default'): string {
  return `[${profile}]\naws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\naws_session_token = ${c.sessionToken}\n`;
}

let sequence = 0;

/** Replaces `path` atomically (write a temporary file, then rename over the old one). */
export function writeFileAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${process.pid}.${++sequence}.tmp`);
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, path);
}

/** Writes credentials into `path` the way the SSM agent does. */
export function writeCredentialsFile(path: string, c: TestCredentials, profile = 'default'): void {
  writeFileAtomically(path, credentialsFileText(c, profile));
}
