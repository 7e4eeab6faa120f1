// The local ELBv2 endpoint's run-time faults as an SDK client meets them: a reply lost after
// the action ran (the caller cannot tell it took effect; a retry must be harmless), and the
// control API that switches faults and throttling from outside the process.
import { DescribeTargetHealthCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalElbv2, type LocalElbv2 } from '../support/local-elbv2/index.ts';
import { createTestClient } from '../support/local-elbv2/test-client.ts';

const TARGET = { Id: '192.168.20.31', Port: 8080, AvailabilityZone: 'all' };

let elb: LocalElbv2;
let arn: string;
const clients: ElasticLoadBalancingV2Client[] = [];

beforeAll(async () => {
  elb = await startLocalElbv2();
  arn = await elb.createTargetGroup({ name: 'faults' });
});

afterEach(() => {
  elb.clearFaults();
  elb.setAccountThrottle(undefined);
  elb.clearRequestLog();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await elb?.close();
});

function client(maxAttempts: number): ElasticLoadBalancingV2Client {
  const c = createTestClient(elb, { maxAttempts });
  clients.push(c);
  return c;
}

const register = (c: ElasticLoadBalancingV2Client) => c.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [TARGET] }));

async function failure(call: Promise<unknown>): Promise<Error & { name: string; code?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (error) {
    return error as Error & { name: string };
  }
  throw new Error('expected the call to fail');
}

const control = (path: string, method: string, body?: unknown) =>
  fetch(`${elb.url}/_local/${path}`, { method, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });

describe('a reply lost after the action ran', () => {
  it('applies the change, closes the connection without a reply, and logs it', async () => {
    elb.setFaults({ responseLost: 1, times: 1 });
    const error = await failure(register(client(1)));
    expect(`${error.code ?? ''} ${error.message}`).toMatch(/ECONNRESET|socket hang up/);
    expect(elb.targets(arn).map((t) => `${t.id}:${t.port}`)).toEqual(['192.168.20.31:8080']);
    expect(elb.requestLog.map((e) => [e.action, e.status, e.replyLost])).toEqual([['RegisterTargets', 200, true]]);
  });

  it('a client that retries ends where it wanted to be: RegisterTargets is idempotent', async () => {
    elb.setFaults({ responseLost: 1, times: 1 });
    const out = await register(client(3));
    expect(out.$metadata.attempts).toBe(2);
    expect(elb.targets(arn)).toHaveLength(1);
    expect(elb.requestLog.map((e) => e.replyLost ?? false)).toEqual([true, false]);
  });
});

describe('the control API', () => {
  it('switches faults on and off from outside: PUT, GET, DELETE /_local/faults', async () => {
    const put = await control('faults', 'PUT', { serviceUnavailable: 1, times: 1 });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ serviceUnavailable: 1, times: 1 });
    const sdk = client(1);
    const error = await failure(sdk.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })));
    expect([error.name, error.$metadata?.httpStatusCode]).toEqual(['ServiceUnavailable', 503]);
    // times ran out: the next call passes
    await sdk.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    expect(await (await control('faults', 'GET')).json()).toMatchObject({ times: 0 });

    await control('faults', 'PUT', { latencyMs: 50, dropConnection: 1, times: null });
    expect(elb.faults()).toMatchObject({ latencyMs: 50, dropConnection: 1 });
    expect(elb.faults().times).toBeUndefined();
    const cleared = await control('faults', 'DELETE');
    expect(await cleared.json()).toMatchObject({ latencyMs: 0, dropConnection: 0, serviceUnavailable: 0 });
    await sdk.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  });

  it('sets and removes per-class throttling: PUT, DELETE /_local/throttle', async () => {
    expect((await control('throttle', 'PUT', { change: { ratePerSecond: 0.001, burst: 1 } })).status).toBe(200);
    const sdk = client(1);
    await register(sdk);
    expect((await failure(register(sdk))).name).toBe('Throttling');
    await sdk.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })); // describe is another class
    expect((await control('throttle', 'DELETE')).status).toBe(200);
    await register(sdk);
  });

  it.each([
    { path: 'faults', method: 'PUT', body: { meteor: 1 }, status: 400, error: /unknown key 'meteor'/ },
    { path: 'faults', method: 'PUT', body: { internalError: 2 }, status: 400, error: /probability between 0 and 1/ },
    { path: 'faults', method: 'PUT', body: { latencyMs: 'slow' }, status: 400, error: /latencyMs must be a number/ },
    { path: 'faults', method: 'PUT', body: '{not json', status: 400, error: /not JSON/ },
    { path: 'faults', method: 'PUT', body: [1], status: 400, error: /expected a JSON object/ },
    { path: 'throttle', method: 'PUT', body: { writes: { ratePerSecond: 1, burst: 1 } }, status: 400, error: /unknown API class 'writes'/ },
    { path: 'throttle', method: 'PUT', body: { change: { ratePerSecond: 1, burst: 0 } }, status: 400, error: /change must be/ },
    { path: 'nothing', method: 'GET', body: undefined, status: 404, error: /no control resource \/_local\/nothing/ },
    { path: 'throttle', method: 'GET', body: undefined, status: 405, error: /GET is not supported/ },
  ])('refuses $method /_local/$path $body with $status, changing nothing', async ({ path, method, body, status, error }) => {
    const before = elb.faults();
    const res = await control(path, method, body);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(error);
    expect(elb.faults()).toEqual(before);
  });

  it('leaves the AWS API untouched: the control paths never reach the request log', async () => {
    await control('faults', 'GET');
    expect(elb.requestLog).toEqual([]);
  });
});
