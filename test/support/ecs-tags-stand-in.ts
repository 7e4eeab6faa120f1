// The local ECS (test/support/local-elbv2/ecs-model.ts, ecs-actions.ts) served alone, for
// tests of the one ECS call the agent makes with --read-service-tags, ListTagsForResource
// (awsJson1_1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListTagsForResource`,
// `{"resourceArn"}` -> `{"tags": [{"key", "value"}]}`; an unknown resource gets
// InvalidParameterException, a denied one AccessDeniedException, as the ECS API Reference and
// IAM answer). The SDK reaches it through AWS_ENDPOINT_URL_ECS or the client's endpoint.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECS_TARGET_PREFIX } from './local-elbv2/ecs-actions.ts';
import { createEcsListener } from './local-elbv2/ecs-endpoint.ts';
import { EcsModel } from './local-elbv2/ecs-model.ts';
import { LOCAL_ELBV2_DEFAULTS } from './local-elbv2/start-local-elbv2.ts';

export interface EcsTagsStandIn {
  readonly url: string;
  /** Sets a resource's tags (replaces them). */
  setTags(resourceArn: string, tags: Record<string, string>): void;
  /** Refuses this resource with AccessDeniedException (the role lacks ecs:ListTagsForResource). */
  deny(resourceArn: string): void;
  /** Every call: its X-Amz-Target and resource ARN. */
  readonly calls: { target: string; resourceArn: string }[];
  close(): Promise<void>;
}

export async function startEcsTagsStandIn(): Promise<EcsTagsStandIn> {
  const model = new EcsModel(LOCAL_ELBV2_DEFAULTS.region, LOCAL_ELBV2_DEFAULTS.accountId);
  const calls: { target: string; resourceArn: string }[] = [];
  const server = createServer(createEcsListener({ model, onCall: (action, body) => void calls.push({ target: `${ECS_TARGET_PREFIX}${action}`, resourceArn: String(body.resourceArn ?? '') }) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setTags: (arn, t) => model.setTags(arn, t),
    deny: (arn) => void model.tagsDenied.add(arn),
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
