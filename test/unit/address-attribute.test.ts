// The address attribute against the local ECS over HTTP (real SDK) and an ECS-agent
// introspection stand-in: put once per address, again when the address changes, never
// blocking the caller; a failure is a warning, retried, and stop() ends the retries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressAttribute } from '../../agent/ecs/address-attribute.ts';
import { ECS_API_LIMITS, createEcsApi } from '../../agent/ecs/ecs-api.ts';
import { readContainerInstance } from '../../agent/ecs/introspection.ts';
import { ApiPace } from '../../agent/fleet/api-pace.ts';
import { ADDRESS_ATTRIBUTE } from '../../agent/fleet-view/fleet-facts.ts';
import type { Log } from '../../agent/log.ts';
import { startIntrospectionStandIn, type IntrospectionStandIn } from '../support/ecs-introspection-stand-in.ts';
import { startLocalElbv2, type LocalElbv2 } from '../support/local-elbv2/index.ts';
import { waitFor } from '../support/wait.ts';

let elb: LocalElbv2;
const stands: IntrospectionStandIn[] = [];

beforeAll(async () => {
  elb = await startLocalElbv2();
});
afterAll(async () => {
  await Promise.all(stands.map((s) => s.close()));
  await elb?.close();
});

function collectingLog(): Log & { lines: { level: string; message: string; fields?: object }[] } {
  const lines: { level: string; message: string; fields?: object }[] = [];
  const log = {
    lines,
    error: (message: string, fields?: object) => void lines.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
    warn: (message: string, fields?: object) => void lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    info: (message: string, fields?: object) => void lines.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    debug: (message: string, fields?: object) => void lines.push({ level: 'debug', message, ...(fields ? { fields } : {}) }),
    child: () => log,
  };
  return log;
}

async function attributeFor(stand: IntrospectionStandIn, log: Log, permanentRetryMs?: number): Promise<AddressAttribute> {
  const api = await createEcsApi({ credentials: async () => ({ accessKeyId: 'AKIDHOST', secretAccessKey: 's' }), pace: new ApiPace({ limits: ECS_API_LIMITS, fleetSize: 1 }), region: elb.region, endpoint: elb.url, retry: { attempts: 1, baseMs: 10, capMs: 10 } });
  return new AddressAttribute({
    identity: () => readContainerInstance(stand.url),
    put: (id, name, value) => api.putAttribute(id.cluster, id.containerInstanceArn, name, value),
    log,
    retry: { baseMs: 20, capMs: 50 },
    ...(permanentRetryMs !== undefined ? { permanentRetryMs } : {}),
  });
}

const puts = () => elb.requestLog.filter((e) => e.action === 'PutAttributes' && e.status === 200).length;

describe('AddressAttribute', () => {
  it('puts the address once, and again when it changes', async () => {
    const arn = elb.ecs.registerContainerInstance('edge');
    const stand = await startIntrospectionStandIn('edge', arn);
    stands.push(stand);
    const log = collectingLog();
    const attribute = await attributeFor(stand, log);
    const before = puts();
    attribute.publish('10.8.0.10');
    attribute.publish('10.8.0.10');
    await waitFor(() => elb.ecs.instance('edge', arn).attributes.get(ADDRESS_ATTRIBUTE) === '10.8.0.10', { description: 'first address put' });
    attribute.publish('10.8.0.11');
    await waitFor(() => elb.ecs.instance('edge', arn).attributes.get(ADDRESS_ATTRIBUTE) === '10.8.0.11', { description: 'new address put' });
    attribute.publish('10.8.0.11');
    attribute.publish(undefined);
    await attribute.stop();
    expect(puts() - before).toBe(2);
    expect(stand.requests).toEqual(['/v1/metadata']);
    expect(log.lines.filter((l) => l.level === 'info').map((l) => l.message)).toEqual([`put ${ADDRESS_ATTRIBUTE}=10.8.0.10 on ${arn}`, `put ${ADDRESS_ATTRIBUTE}=10.8.0.11 on ${arn}`]);
  });

  it('warns once about an ECS agent that has not registered yet, keeps trying, and stops when told', async () => {
    const stand = await startIntrospectionStandIn('edge', '');
    stands.push(stand);
    const log = collectingLog();
    const attribute = await attributeFor(stand, log);
    attribute.publish('10.8.0.12');
    await waitFor(() => stand.requests.length >= 3, { description: 'three tries' });
    await attribute.stop();
    const tries = stand.requests.length;
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([expect.stringMatching(/^cannot put ecs-anywhere-lb\.address=10\.8\.0\.12 \(GET \/v1\/metadata .*NotRegistered: no container instance yet.*\); retrying in \d+ ms$/)]);
    await new Promise((r) => setTimeout(r, 100));
    expect(stand.requests.length).toBe(tries);
  });

  it('waits long after a refusal that will not pass by itself (an instance ECS does not know)', async () => {
    const stand = await startIntrospectionStandIn('edge', 'arn:aws:ecs:us-east-1:123456789012:container-instance/edge/0000000000000000');
    stands.push(stand);
    const log = collectingLog();
    const attribute = await attributeFor(stand, log, 60_000);
    attribute.publish('10.8.0.13');
    await waitFor(() => log.lines.some((l) => l.level === 'warn'), { description: 'the refusal logged' });
    expect(log.lines.find((l) => l.level === 'warn')?.message).toMatch(/TargetNotFoundException: .*; retrying in 60000 ms$/);
    await attribute.stop();
  });
});
