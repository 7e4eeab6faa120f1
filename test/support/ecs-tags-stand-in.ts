// A stand-in for the one Amazon ECS API call the agent makes, ListTagsForResource (with
// --read-service-tags), speaking the service's protocol as the real SDK sends it: awsJson1_1,
// POST / with `X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListTagsForResource` and
// `{"resourceArn": ...}`, answering `{"tags": [{"key", "value"}]}`; an unknown or denied ARN
// gets the JSON error shape `{"__type", "message"}` with HTTP 400 (ECS API Reference,
// ListTagsForResource: ClientException, InvalidParameterException, ServerException; IAM's
// AccessDeniedException). The SDK reaches it through AWS_ENDPOINT_URL_ECS.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  const tags = new Map<string, Record<string, string>>();
  const denied = new Set<string>();
  const calls: { target: string; resourceArn: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const send = (status: number, json: unknown) => res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' }).end(JSON.stringify(json));
      let resourceArn = '';
      try {
        resourceArn = String((JSON.parse(body) as { resourceArn?: unknown }).resourceArn ?? '');
      } catch {
        send(400, { __type: 'SerializationException', message: 'body is not JSON' });
        return;
      }
      calls.push({ target, resourceArn });
      if (target !== 'AmazonEC2ContainerServiceV20141113.ListTagsForResource') {
        send(400, { __type: 'UnknownOperationException', message: `${target} is not implemented by this stand-in` });
      } else if (denied.has(resourceArn)) {
        send(400, { __type: 'AccessDeniedException', message: `User is not authorized to perform: ecs:ListTagsForResource on resource: ${resourceArn}` });
      } else if (!tags.has(resourceArn)) {
        send(400, { __type: 'InvalidParameterException', message: 'The specified resource is not found.' });
      } else {
        send(200, { tags: Object.entries(tags.get(resourceArn) ?? {}).map(([key, value]) => ({ key, value })) });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setTags: (arn, t) => void tags.set(arn, t),
    deny: (arn) => void denied.add(arn),
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
