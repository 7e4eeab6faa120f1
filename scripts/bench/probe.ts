// The naive probe the bench measures the agent against: the least an event-driven registrar
// can do. One Docker event -> one inspect -> one SDK call, no coalescing, no ownership, no
// retries, and no state but the port it registered per container: at `kill` it sends the
// DeregisterTargets from that at once (an inspect then waits for Docker's container lock while
// the container stops, 100+ ms, and the floor is what matters); it inspects only a container it
// never saw start. It runs as its own process (`node scripts/bench/probe.ts`, Node's
// type stripping) beside the agent, on the same events and against the same local ELBv2
// endpoint, so that both pay the same machine's noise.
//
// Environment: DOCKER_HOST, AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2, AWS_REGION and static
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the SDK's defaults), PROBE_TARGET_GROUP_ARN,
// PROBE_HOST_IP, PROBE_LABEL (only containers carrying this label are handled),
// PROBE_CONTAINER_PORT (default 8080). Prints "probe ready" once the event stream is open.
import { DeregisterTargetsCommand, ElasticLoadBalancingV2Client, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import Docker from 'dockerode';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`probe: ${name} is not set`);
  return value;
}

const targetGroupArn = required('PROBE_TARGET_GROUP_ARN');
const hostIp = required('PROBE_HOST_IP');
const label = required('PROBE_LABEL');
const containerPort = `${process.env.PROBE_CONTAINER_PORT ?? '8080'}/tcp`;
required('DOCKER_HOST');
const docker = new Docker(); // docker-modem reads DOCKER_HOST
const elb = new ElasticLoadBalancingV2Client({});

interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
}

/** The port registered per container. */
const registered = new Map<string, number>();

async function inspectPort(id: string): Promise<number> {
  const info = await docker.getContainer(id).inspect();
  return Number(info.NetworkSettings.Ports?.[containerPort]?.[0]?.HostPort);
}

async function handle(event: DockerEvent): Promise<void> {
  const id = event.Actor.ID;
  const port = (event.Action === 'kill' ? registered.get(id) : undefined) ?? (await inspectPort(id));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${id.slice(0, 12)} publishes no ${containerPort}`);
  if (event.Action === 'start') registered.set(id, port);
  else registered.delete(id);
  const Targets = [{ Id: hostIp, Port: port, AvailabilityZone: 'all' }];
  await elb.send(event.Action === 'start' ? new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets }) : new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets }));
}

const filters = JSON.stringify({ type: ['container'], event: ['start', 'kill'], label: [label] });
const stream = (await docker.getEvents({ filters } as Docker.GetEventsOptions)) as NodeJS.ReadableStream;
let buffer = '';
stream.on('data', (chunk: Buffer) => {
  buffer += chunk.toString();
  let nl: number;
  while ((nl = buffer.indexOf('\n')) >= 0) {
    const event = JSON.parse(buffer.slice(0, nl)) as DockerEvent;
    buffer = buffer.slice(nl + 1);
    handle(event).catch((err: unknown) => process.stderr.write(`probe: ${event.Action} ${event.Actor.ID.slice(0, 12)}: ${err instanceof Error ? err.message : String(err)}\n`));
  }
});
stream.on('end', () => {
  process.stderr.write('probe: the Docker event stream ended\n');
  process.exit(1);
});
process.stdout.write('probe ready\n');
