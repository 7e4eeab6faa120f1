/**
 * Credentials that follow the SSM agent's rotation. On an ECS Anywhere host the SSM agent
 * rewrites the instance role's temporary credentials in root's shared credentials file
 * about every 30 minutes; a process that reads it once fails when the old token expires.
 * This provider re-reads the file when it changes and at least every `maxAgeMs`, and can
 * be told to drop what it holds after an expired-token error.
 *
 * "Changed" is judged from the file's identity and timestamps (device, inode, size, mtime
 * and ctime in nanoseconds), checked before every request. The SSM agent replaces the file
 * by rename, which always yields a new inode while the old file is still open, so a
 * rotation is seen even when two writes fall within one kernel clock tick (Linux stamps
 * files with a coarse clock, 1-10 ms) and the size does not change. An in-place rewrite
 * within one tick and of the same size can still go unseen: the expired-token retry and
 * the `maxAgeMs` re-read cover that case.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fromIni } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';

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

/** Why the shared credentials file gave no credentials. */
export type CredentialsProblemCode = 'CredentialsFileMissing' | 'CredentialsFileUnreadable' | 'CredentialsProfileMissing';

/** The shared credentials file is missing, unreadable or lacks the profile: transient, it may appear or be fixed. */
export class CredentialsFileError extends Error {
  override readonly name = 'CredentialsFileError';
  constructor(
    readonly code: CredentialsProblemCode,
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the provider tells its owner (for logs): each distinct problem once, then recovery and rotations. */
export type CredentialsEvent =
  | { readonly kind: 'problem'; readonly code: CredentialsProblemCode; readonly file: string; readonly message: string }
  | { readonly kind: 'loaded'; readonly file: string; readonly profile: string; readonly accessKeyId: string }
  | { readonly kind: 'rotated'; readonly file: string; readonly profile: string; readonly accessKeyId: string; readonly previousAccessKeyId: string };

export const DEFAULT_MAX_CREDENTIALS_AGE_MS = 60_000;

/** The credentials file and profile the standard variables name. */
export function sharedCredentialsLocation(env: Record<string, string | undefined>): { file: string; profile: string } {
  return {
    file: env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials'),
    profile: env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default',
  };
}

/** An access key id shortened for logs: enough to tell rotations apart. */
export function maskAccessKeyId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id;
}

export interface RotatingCredentialsOptions {
  readonly maxAgeMs?: number;
  readonly now?: () => number;
  readonly onEvent?: (event: CredentialsEvent) => void;
}

/**
 * Static keys from the environment when AWS_ACCESS_KEY_ID is set (development, tests);
 * otherwise the shared credentials file, followed as it rotates.
 */
export function createRotatingCredentials(env: Record<string, string | undefined>, options: RotatingCredentialsOptions = {}): RotatingCredentials {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_CREDENTIALS_AGE_MS;
  const now = options.now ?? Date.now;
  if (env.AWS_ACCESS_KEY_ID) {
    // From the environment the agent was given (which includes a --config file's AWS_* lines), not only process.env.
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
    const fromEnvironment: AwsCredentialIdentityProvider = async () => {
      // Named like the SDK's own provider errors, which the ELB adapter classifies.
      if (!secretAccessKey) throw Object.assign(new Error('AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not'), { name: 'CredentialsProviderError' });
      return { accessKeyId: accessKeyId as string, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    };
    return { source: { kind: 'environment' }, provider: fromEnvironment, invalidate: () => undefined };
  }
  const { file, profile } = sharedCredentialsLocation(env);
  let cached: { identity: AwsCredentialIdentity; fingerprint: string; readAt: number } | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  let lastProblem: string | undefined;
  let lastKey: string | undefined;

  const problem = (code: CredentialsProblemCode, message: string): CredentialsFileError => {
    cached = undefined;
    const err = new CredentialsFileError(code, file, message);
    if (lastProblem !== `${code}|${message}`) {
      lastProblem = `${code}|${message}`;
      options.onEvent?.({ kind: 'problem', code, file, message });
    }
    return err;
  };

  const read = async (): Promise<AwsCredentialIdentity> => {
    let fingerprint: string;
    try {
      const s = await stat(file, { bigint: true });
      fingerprint = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw code === 'ENOENT'
        ? problem('CredentialsFileMissing', `credentials file ${file} is missing; on ECS Anywhere the SSM agent writes it (AWS_SHARED_CREDENTIALS_FILE names another)`)
        : problem('CredentialsFileUnreadable', `credentials file ${file} is unreadable (${code ?? errorMessage(err)})`);
    }
    if (cached && cached.fingerprint === fingerprint && now() - cached.readAt < maxAgeMs) return cached.identity;
    try {
      // The SDK's loader treats an unreadable file as an empty one; read it first to say what is wrong.
      await readFile(file);
    } catch (err) {
      throw problem('CredentialsFileUnreadable', `credentials file ${file} is unreadable (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
    }
    let identity: AwsCredentialIdentity;
    try {
      identity = await fromIni({ profile, filepath: file, ignoreCache: true })();
    } catch (err) {
      throw problem('CredentialsProfileMissing', `credentials file ${file} has no usable profile "${profile}" (AWS_PROFILE names another): ${errorMessage(err)}`);
    }
    cached = { identity, fingerprint, readAt: now() };
    if (lastKey === undefined || lastProblem !== undefined) {
      options.onEvent?.({ kind: 'loaded', file, profile, accessKeyId: identity.accessKeyId });
    } else if (identity.accessKeyId !== lastKey) {
      options.onEvent?.({ kind: 'rotated', file, profile, accessKeyId: identity.accessKeyId, previousAccessKeyId: lastKey });
    }
    lastProblem = undefined;
    lastKey = identity.accessKeyId;
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

/** Logs what the provider reports: a problem once (until it changes or passes), each load and rotation. */
export function logCredentialsEvents(log: Log): (event: CredentialsEvent) => void {
  return (e) => {
    if (e.kind === 'problem') {
      log.warn(`cannot use AWS credentials: ${e.message}; will keep trying`, { event: 'credentials-problem', code: e.code, file: e.file });
    } else if (e.kind === 'loaded') {
      log.info(`AWS credentials loaded from ${e.file} profile ${e.profile} (key ${maskAccessKeyId(e.accessKeyId)})`, { event: 'credentials-loaded', file: e.file, profile: e.profile, accessKeyId: maskAccessKeyId(e.accessKeyId) });
    } else {
      log.info(`AWS credentials rotated in ${e.file} (key ${maskAccessKeyId(e.previousAccessKeyId)} -> ${maskAccessKeyId(e.accessKeyId)})`, {
        event: 'credentials-rotated', file: e.file, profile: e.profile, accessKeyId: maskAccessKeyId(e.accessKeyId), previousAccessKeyId: maskAccessKeyId(e.previousAccessKeyId),
      });
    }
  };
}
