// A stand-in for the ECS agent's introspection API on a host (localhost:51678): GET
// /v1/metadata answers {"Cluster", "ContainerInstanceArn", "Version"} as the ECS agent's
// ecs-agent/introspection/v1 handlers marshal it (an agent not yet registered has an empty
// ContainerInstanceArn); any other path is a 404, like its router. One per simulated host.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IntrospectionStandIn {
  /** Base URL, as --ecs-introspection-endpoint takes it. */
  readonly url: string;
  /** Every path asked, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves one host's identity; `containerInstanceArn` '' = an ECS agent that has not registered yet. */
export async function startIntrospectionStandIn(cluster: string, containerInstanceArn: string): Promise<IntrospectionStandIn> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.method === 'GET' && req.url === '/v1/metadata') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Cluster: cluster, ContainerInstanceArn: containerInstanceArn, Version: 'Amazon ECS Agent - v1.89.0 (*a1b2c3d4)' }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
