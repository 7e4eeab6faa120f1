/**
 * The real ELBv2 SDK client aimed at a local endpoint, with static test credentials:
 * how tests talk to the endpoint exactly as the agent would.
 */
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LocalElbv2 } from './start-local-elbv2.ts';

/** Access key id of the default test credentials. */
export const TEST_ACCESS_KEY_ID = 'AKIALOCALELBV2TEST01';

/** Options for `createTestClient`. */
export interface TestClientOptions {
  readonly accessKeyId?: string;
  /** SDK attempts per call, first one included (SDK default 3). */
  readonly maxAttempts?: number;
  /** Per-request socket timeout in ms (makes dropped/slow replies fail fast). */
  readonly requestTimeoutMs?: number;
}

/** An SDK client for `endpoint` (the local endpoint's url and region). */
export function createTestClient(endpoint: Pick<LocalElbv2, 'url' | 'region'>, options: TestClientOptions = {}): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client({
    endpoint: endpoint.url,
    region: endpoint.region,
    credentials: { accessKeyId: options.accessKeyId ?? TEST_ACCESS_KEY_ID, secretAccessKey: 'local-elbv2-test-secret' },
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestHandler: { requestTimeout: options.requestTimeoutMs } } : {}),
  });
}
