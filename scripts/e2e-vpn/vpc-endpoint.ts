// The load balancer side of e2e:vpn, run inside the VPC namespace (`ip netns exec NS node
// tsx-cli scripts/e2e-vpn/vpc-endpoint.ts JSON`): the local ELBv2 endpoint on every address
// of the namespace, one ip target group with ALB's shortest health check settings, and a
// listener forwarding to it; health checks and forwarded requests leave from the load
// balancer's VPC address (`sourceAddress`), so they travel the VPN to the hosts. Every API
// request is appended as a JSON line to `requestLog`. Prints one JSON line
// {apiPort, listenerPort, targetGroupArn, region} when ready; stops on SIGTERM or SIGINT.
import { createWriteStream } from 'node:fs';
import { startLocalElbv2, type TargetGroupSpec } from '../../test/support/local-elbv2/index.ts';

/** What the run hands the endpoint. */
export interface VpcEndpointSpec {
  readonly vpcCidr: string;
  readonly sourceAddress: string;
  readonly targetGroup: TargetGroupSpec;
  readonly propagationDelayMs: number;
  readonly requestLog: string;
}

/** The ready line. */
export interface VpcEndpointReady {
  readonly apiPort: number;
  readonly listenerPort: number;
  readonly targetGroupArn: string;
  readonly region: string;
}

async function main(spec: VpcEndpointSpec): Promise<void> {
  const elb = await startLocalElbv2({ host: '0.0.0.0', vpcCidr: spec.vpcCidr, sourceAddress: spec.sourceAddress });
  const log = createWriteStream(spec.requestLog, { flags: 'a' });
  elb.onRequest((entry) => log.write(`${JSON.stringify(entry)}\n`));
  const targetGroupArn = await elb.createTargetGroup(spec.targetGroup);
  const listener = await elb.createListener({ targetGroupArn, host: '0.0.0.0', port: 0, propagationDelayMs: spec.propagationDelayMs });
  const ready: VpcEndpointReady = { apiPort: elb.port, listenerPort: listener.port, targetGroupArn, region: elb.region };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.stderr.write(`vpc-endpoint: ${signal}, stopping\n`);
  await elb.close();
  await new Promise<void>((resolve) => log.end(() => resolve()));
}

main(JSON.parse(process.argv[2] ?? '{}') as VpcEndpointSpec).catch((error: unknown) => {
  process.stderr.write(`vpc-endpoint: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
