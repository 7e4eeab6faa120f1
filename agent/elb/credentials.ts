/**
 * Credentials that follow the SSM agent's rotation. On an ECS Anywhere host the SSM agent
 * rewrites the instance role's temporary credentials in root's shared credentials file
 * about every 30 minutes; a process that reads it once fails when the old token expires.
 * This provider re-reads the file when it changes and at least every `maxAgeMs`, and can
 * be told to drop what it holds after an expired-token error.
 */
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fromEnv, fromIni } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';

/** Where credentials come from, for logs and `check`. */
export interface CredentialsSource {
  readonly kind: 'environment' | 'shared-file';
  readonly file?: string;
  readonly profile?: string;
}

/** A credentials provider the ELB adapter can invalidate after an expired-token error. */
export interface RotatingCredentials {
  readonly source: CredentialsSource;
  readonly provider: AwsCredentialIdentityProvider;
  /** Forget the cached credentials so the next call reads the source again. */
  invalidate(): void;
}

export const DEFAULT_MAX_CREDENTIALS_AGE_MS = 60_000;

/** The credentials file and profile the standard variables name. */
export function sharedCredentialsLocation(env: Record<string, string | undefined>): { file: string; profile: string } {
  return {
    file: env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials'),
    profile: env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default',
  };
}

/**
 * Static keys from the environment when AWS_ACCESS_KEY_ID is set (development, tests);
 * otherwise the shared credentials file, followed as it rotates.
 */
export function createRotatingCredentials(
  env: Record<string, string | undefined>,
  maxAgeMs = DEFAULT_MAX_CREDENTIALS_AGE_MS,
  now: () => number = Date.now,
): RotatingCredentials {
  if (env.AWS_ACCESS_KEY_ID) {
    const fromEnvironment = fromEnv();
    return { source: { kind: 'environment' }, provider: fromEnvironment, invalidate: () => undefined };
  }
  const { file, profile } = sharedCredentialsLocation(env);
  let cached: { identity: AwsCredentialIdentity; mtimeMs: number; readAt: number } | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;

  const read = async (): Promise<AwsCredentialIdentity> => {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch (err) {
      cached = undefined;
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`credentials file ${file} is ${code === 'ENOENT' ? 'missing' : `unreadable (${code})`}; on ECS Anywhere the SSM agent writes it (AWS_SHARED_CREDENTIALS_FILE names another)`);
    }
    if (cached && cached.mtimeMs === mtimeMs && now() - cached.readAt < maxAgeMs) return cached.identity;
    const identity = await fromIni({ profile, filepath: file, ignoreCache: true })();
    cached = { identity, mtimeMs, readAt: now() };
    return identity;
  };

  const provider: AwsCredentialIdentityProvider = async () => {
    pending ??= read().finally(() => {
      pending = undefined;
    });
    const identity = await pending;
    // An expiration inside the SDK's 5-minute refresh window makes the client ask this
    // provider before every request; the file's own freshness is judged above.
    const soon = new Date(now() + maxAgeMs);
    const expiration = identity.expiration && identity.expiration < soon ? identity.expiration : soon;
    return { ...identity, expiration };
  };

  return {
    source: { kind: 'shared-file', file, profile },
    provider,
    invalidate: () => {
      cached = undefined;
    },
  };
}
