/**
 * A service's own tags through `ecs:ListTagsForResource`, for services whose tags do not reach
 * their tasks (no `propagateTags: SERVICE`): one call per service, kept for a while. The ECS
 * client is loaded only when this reader is built (--read-service-tags): an agent without the
 * option never loads it. The call needs `ecs:ListTagsForResource` on the service ARN, which
 * the ECS Anywhere instance role does not grant by default (iam-policy adds it with the option).
 */
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { errorMessage } from '../errors.ts';
import type { ServiceTagReader } from './task-metadata-endpoint.ts';

/** How long a service's tags (or the failure to read them) are kept: a tag change reaches tasks started after it. */
export const SERVICE_TAGS_TTL_MS = 5 * 60_000;

export interface ServiceTagsOptions {
  readonly credentials: AwsCredentialIdentityProvider;
  /** AWS_ENDPOINT_URL_ECS is honoured by the SDK itself; this overrides it (tests). */
  readonly endpoint?: string;
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/** Builds the reader; loads @aws-sdk/client-ecs. */
export async function createServiceTagReader(options: ServiceTagsOptions): Promise<ServiceTagReader> {
  const { ECSClient, ListTagsForResourceCommand } = await import('@aws-sdk/client-ecs');
  const clients = new Map<string, InstanceType<typeof ECSClient>>();
  const cache = new Map<string, { at: number; tags?: Record<string, string>; error?: string }>();
  const now = options.now ?? Date.now;
  const ttl = options.ttlMs ?? SERVICE_TAGS_TTL_MS;
  return async (serviceArn) => {
    const known = cache.get(serviceArn);
    if (known && now() - known.at < ttl) {
      if (known.error !== undefined) throw new Error(known.error);
      return known.tags ?? {};
    }
    const region = serviceArn.split(':')[3] ?? '';
    let client = clients.get(region);
    if (!client) {
      client = new ECSClient({ region, credentials: options.credentials, maxAttempts: 2, ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}) });
      clients.set(region, client);
    }
    try {
      const out = await client.send(new ListTagsForResourceCommand({ resourceArn: serviceArn }));
      const tags = Object.fromEntries((out.tags ?? []).filter((t) => t.key !== undefined).map((t) => [t.key as string, t.value ?? '']));
      cache.set(serviceArn, { at: now(), tags });
      return tags;
    } catch (err) {
      const code = (err as { name?: string }).name;
      const error = `ecs:ListTagsForResource failed (${code ?? 'error'}: ${errorMessage(err)})`;
      cache.set(serviceArn, { at: now(), error });
      throw new Error(error);
    }
  };
}
