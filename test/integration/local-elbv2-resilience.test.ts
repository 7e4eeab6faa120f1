// The local ELBv2 endpoint on a bad day, seen through the real SDK and raw HTTP:
// throttling (shared token buckets, per API class and for all actions, and storms), injected latency, 500/503, dropped
// connections, expired and missing credentials, IAM-style denials, and malformed requests
// that must get AWS-shaped XML errors without hurting the server.
import { DescribeTargetGroupsCommand, DescribeTargetHealthCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalElbv2 } from '../support/local-elbv2/index.ts';
import type { LocalElbv2 } from '../support/local-elbv2/index.ts';
import { TEST_ACCESS_KEY_ID, createTestClient } from '../support/local-elbv2/test-client.ts';

const NAMESPACE = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
const TARGET = { Id: '192.168.20.30', Port: 8080, AvailabilityZone: 'all' };
const FAKE_AUTH = `AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY_ID}/20250101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=00`;

type SdkError = Error & { Code?: string; $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number }; code?: string };

let elb: LocalElbv2;
/** The throttle buckets' clock: it moves only when a test moves it, so no token comes back while a slow machine makes its calls. */
let throttleNow = 0;
const throttleClock = () => throttleNow;
let arn: string;
let otherArn: string;
const clients: ElasticLoadBalancingV2Client[] = [];

beforeAll(async () => {
  elb = await startLocalElbv2({ throttleClock });
  arn = await elb.createTargetGroup({ name: 'resilience' });
  otherArn = await elb.createTargetGroup({ name: 'not-ours' });
});

afterEach(() => {
  elb.clearFaults();
  elb.setThrottle(undefined);
  elb.setAllowedTargetGroups(undefined);
  elb.setAcceptedAccessKeyIds(undefined);
  elb.clearRequestLog();
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await elb?.close();
});

function client(options: Parameters<typeof createTestClient>[1] = {}): ElasticLoadBalancingV2Client {
  const created = createTestClient(elb, options);
  clients.push(created);
  return created;
}

async function sdkError(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the call to fail');
}

const describeHealth = (c: ElasticLoadBalancingV2Client) => c.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));

describe('throttling', () => {
  it('throttles with code Throttling ("Rate exceeded"), which the SDK retries until its attempts run out', async () => {
    elb.setThrottle({ ratePerSecond: 0.001, burst: 2 });
    const sdk = client({ maxAttempts: 2 });
    await describeHealth(sdk);
    await describeHealth(sdk);
    const error = await sdkError(describeHealth(sdk));
    expect(error.name).toBe('Throttling');
    expect(error.message).toBe('Rate exceeded');
    expect(error.Code).toBe('Throttling');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    // Retried: the SDK classified it as throttling. A plain client error is not retried.
    expect(error.$metadata?.attempts).toBe(2);
    expect(elb.requestLog.map((e) => e.errorCode ?? e.status)).toEqual([200, 200, 'Throttling', 'Throttling']);

    elb.setThrottle(undefined);
    const validation = await sdkError(sdk.send(new DescribeTargetHealthCommand({ TargetGroupArn: 'bad-arn' })));
    expect(validation.name).toBe('ValidationError');
    expect(validation.$metadata?.attempts).toBe(1);
  });

  it('shares one bucket between all callers, and the bucket refills at its rate', async () => {
    elb.setThrottle({ ratePerSecond: 10, burst: 2 });
    const hostA = client({ maxAttempts: 1, accessKeyId: 'AKIAHOSTA00000000001' });
    const hostB = client({ maxAttempts: 1, accessKeyId: 'AKIAHOSTB00000000002' });
    await describeHealth(hostA);
    await describeHealth(hostB);
    const error = await sdkError(describeHealth(hostA));
    expect(error.name).toBe('Throttling');
    expect(elb.requestLog.map((e) => [e.caller, e.status])).toEqual([
      ['AKIAHOSTA00000000001', 200],
      ['AKIAHOSTB00000000002', 200],
      ['AKIAHOSTA00000000001', 400],
    ]);
    throttleNow += 50; // 10 tokens/s: half a token back
    expect((await sdkError(describeHealth(hostB))).name).toBe('Throttling');
    throttleNow += 50; // 100 ms: one whole token back
    await describeHealth(hostB);
    expect((await sdkError(describeHealth(hostA))).name).toBe('Throttling');
  });

  it('throttles per API class like ELBv2: a burst of RegisterTargets runs dry while DescribeTargetHealth still passes', async () => {
    const account = await startLocalElbv2({ accountThrottle: { change: { ratePerSecond: 1, burst: 2 } }, throttleClock });
    try {
      const groupArn = await account.createTargetGroup({ name: 'per-class' });
      const sdk = createTestClient(account, { maxAttempts: 1 });
      clients.push(sdk);
      const register = () => sdk.send(new RegisterTargetsCommand({ TargetGroupArn: groupArn, Targets: [TARGET] }));
      await register();
      await register();
      const error = await sdkError(register());
      expect(error.name).toBe('Throttling');
      expect(error.message).toBe('Rate exceeded');
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect(error.$metadata?.attempts).toBe(1);
      const health = await sdk.send(new DescribeTargetHealthCommand({ TargetGroupArn: groupArn }));
      expect(health.TargetHealthDescriptions?.map((d) => d.Target?.Id)).toEqual([TARGET.Id]);
      expect(account.requestLog.map((e) => [e.action, e.status, e.errorCode])).toEqual([
        ['RegisterTargets', 200, undefined],
        ['RegisterTargets', 200, undefined],
        ['RegisterTargets', 400, 'Throttling'],
        ['DescribeTargetHealth', 200, undefined],
      ]);
      expect(account.throttleStats()).toEqual({
        describe: { allowed: 1, throttled: 0 },
        change: { allowed: 2, throttled: 1 },
        other: { allowed: 0, throttled: 0 },
      });

      account.setAccountThrottle(undefined);
      await register();
      account.clearRequestLog();
      expect(account.throttleStats().change).toEqual({ allowed: 0, throttled: 0 });
    } finally {
      await account.close();
    }
  });

  it('throttles every call during a throttling storm, until it is switched off', async () => {
    elb.setFaults({ throttle: true });
    const sdk = client({ maxAttempts: 1 });
    for (let i = 0; i < 3; i++) expect((await sdkError(describeHealth(sdk))).name).toBe('Throttling');
    elb.clearFaults();
    await describeHealth(sdk);
  });
});

describe('fault injection', () => {
  it('adds latency', async () => {
    const sdk = client({ maxAttempts: 1 });
    elb.setFaults({ latencyMs: 400 });
    const started = Date.now();
    await describeHealth(sdk);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    // Cleared, a latency the call could not hide is gone (a busy machine can slow a local call
    // past a few hundred ms, never past 20 s).
    elb.setFaults({ latencyMs: 20_000 });
    elb.clearFaults();
    const fastStart = Date.now();
    await describeHealth(sdk);
    expect(Date.now() - fastStart).toBeLessThan(20_000);
  });

  it('answers 500 InternalFailure, which the SDK retries', async () => {
    elb.setFaults({ internalError: 1, times: 2 });
    const out = await describeHealth(client({ maxAttempts: 3 }));
    expect(out.$metadata.attempts).toBe(3);
    expect(elb.requestLog.map((e) => [e.status, e.errorCode])).toEqual([
      [500, 'InternalFailure'],
      [500, 'InternalFailure'],
      [200, undefined],
    ]);
  });

  it('answers 503 ServiceUnavailable; with the faults left on the SDK gives up with a server fault', async () => {
    elb.setFaults({ serviceUnavailable: true });
    const error = await sdkError(describeHealth(client({ maxAttempts: 2 })));
    expect(error.name).toBe('ServiceUnavailable');
    expect(error.$fault).toBe('server');
    expect(error.$metadata?.httpStatusCode).toBe(503);
    expect(error.$metadata?.attempts).toBe(2);
  });

  it('drops connections without a reply; the SDK retries on a new connection', async () => {
    elb.setFaults({ dropConnection: 1, times: 1 });
    const out = await describeHealth(client({ maxAttempts: 3 }));
    expect(out.$metadata.attempts).toBe(2);
    expect(elb.requestLog.map((e) => e.status)).toEqual([0, 200]);

    elb.setFaults({ dropConnection: 1, times: undefined });
    const error = await sdkError(describeHealth(client({ maxAttempts: 2 })));
    expect(`${error.code ?? ''} ${error.message}`).toMatch(/ECONNRESET|socket hang up/);
  });

  it('limits faults to the named actions', async () => {
    elb.setFaults({ internalError: 1, actions: ['RegisterTargets'] });
    const sdk = client({ maxAttempts: 1 });
    await describeHealth(sdk);
    const error = await sdkError(sdk.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [TARGET] })));
    expect(error.name).toBe('InternalFailure');
    expect(elb.targets(arn)).toEqual([]);
  });

  it('refuses impossible fault settings', () => {
    expect(() => elb.setFaults({ internalError: 1.5 })).toThrow(/probability/);
  });
});

describe('credentials and permissions', () => {
  it('answers ExpiredToken (403) for access keys no longer accepted, so rotation can be tested', async () => {
    elb.setAcceptedAccessKeyIds(['AKIAROTATEDNEWKEY001']);
    const old = await sdkError(describeHealth(client({ maxAttempts: 1 })));
    expect(old.name).toBe('ExpiredToken');
    expect(old.message).toBe('The security token included in the request is expired');
    expect(old.$metadata?.httpStatusCode).toBe(403);
    await describeHealth(client({ maxAttempts: 1, accessKeyId: 'AKIAROTATEDNEWKEY001' }));
    expect(elb.requestLog.map((e) => [e.caller, e.status, e.errorCode])).toEqual([
      [TEST_ACCESS_KEY_ID, 403, 'ExpiredToken'],
      ['AKIAROTATEDNEWKEY001', 200, undefined],
    ]);
  });

  it('answers AccessDenied (403) for changes to target groups outside the allow-list; Describe stays allowed', async () => {
    elb.setAllowedTargetGroups([arn]);
    const sdk = client({ maxAttempts: 1 });
    const denied = await sdkError(sdk.send(new RegisterTargetsCommand({ TargetGroupArn: otherArn, Targets: [TARGET] })));
    expect(denied.name).toBe('AccessDenied');
    expect(denied.$metadata?.httpStatusCode).toBe(403);
    expect(denied.message).toContain(`is not authorized to perform: elasticloadbalancing:RegisterTargets on resource: ${otherArn}`);
    expect(elb.targets(otherArn)).toEqual([]);

    await sdk.send(new DescribeTargetHealthCommand({ TargetGroupArn: otherArn }));
    await sdk.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [TARGET] }));
    expect(elb.targets(arn).map((t) => t.id)).toEqual([TARGET.Id]);

    elb.setAllowedTargetGroups(undefined);
    await sdk.send(new RegisterTargetsCommand({ TargetGroupArn: otherArn, Targets: [TARGET] }));
    expect(elb.targets(otherArn)).toHaveLength(1);
  });

  it('answers MissingAuthenticationToken (403) to unsigned requests', async () => {
    const reply = await post('Action=DescribeTargetGroups&Version=2015-12-01', { authorization: undefined });
    expect(reply.status).toBe(403);
    expect(errorOf(reply.body)).toEqual({ type: 'Sender', code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' });
  });
});

describe('malformed requests over raw HTTP', () => {
  it('answers missing parameters with one ValidationError listing each', async () => {
    const reply = await post('Action=RegisterTargets&Version=2015-12-01');
    expect(reply.status).toBe(400);
    expect(reply.contentType).toBe('text/xml');
    expect(errorOf(reply.body)).toEqual({
      type: 'Sender',
      code: 'ValidationError',
      message:
        "2 validation errors detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'targets' failed to satisfy constraint: Member must not be null",
    });
    expect(reply.body).toContain(`<ErrorResponse xmlns="${NAMESPACE}">`);
    expect(reply.body).toContain(`<RequestId>${reply.requestId}</RequestId>`);
  });

  it('answers a malformed ARN with ValidationError and escapes it in the XML', async () => {
    const badArn = 'arn:aws:<script>&"x"';
    const reply = await post(`Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=${encodeURIComponent(badArn)}`);
    expect(reply.status).toBe(400);
    expect(errorOf(reply.body)).toEqual({ type: 'Sender', code: 'ValidationError', message: `'${badArn}' is not a valid target group ARN` });
    expect(reply.body).not.toContain('<script>');
  });

  it('answers unknown actions and versions with InvalidAction', async () => {
    const unknown = await post('Action=DeleteEverything&Version=2015-12-01');
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown.body)).toMatchObject({ code: 'InvalidAction', message: 'Could not find operation DeleteEverything for version 2015-12-01' });
    const oldVersion = await post('Action=DescribeTargetGroups&Version=2012-06-01');
    expect(errorOf(oldVersion.body)).toMatchObject({ code: 'InvalidAction', message: 'Could not find operation DescribeTargetGroups for version 2012-06-01' });
  });

  it('answers garbage bodies and non-integers with AWS-shaped errors', async () => {
    const garbage = await post(Buffer.from([0x00, 0xff, 0x25, 0x25, 0x26, 0x3d, 0x3d, 0x0a, 0xc3, 0x28]));
    expect(garbage.status).toBe(400);
    expect(errorOf(garbage.body)).toMatchObject({ type: 'Sender', code: 'MissingAction' });

    const json = await post('{"Action":"RegisterTargets"}');
    expect(errorOf(json.body)).toMatchObject({ code: 'MissingAction' });

    const notInt = await post(`Action=DescribeTargetGroups&Version=2015-12-01&PageSize=lots`);
    expect(errorOf(notInt.body)).toMatchObject({ code: 'ValidationError', message: expect.stringContaining("Value 'lots' at 'pageSize'") });

    const tooBig = await post(`Action=DescribeTargetGroups&Version=2015-12-01&Names.member.1=${'x'.repeat(1024 * 1024 + 10)}`);
    expect(tooBig.status).toBe(413);
  });

  it('also accepts GET with the query in the URL, as AWS query endpoints do', async () => {
    const reply = await fetch(`${elb.url}/?Action=DescribeTargetGroups&Version=2015-12-01&Names.member.1=resilience`, {
      headers: { authorization: FAKE_AUTH },
    });
    const body = await reply.text();
    expect(reply.status).toBe(200);
    expect(body).toContain(`<DescribeTargetGroupsResponse xmlns="${NAMESPACE}"><DescribeTargetGroupsResult><TargetGroups><member>`);
    expect(body).toContain(`<TargetGroupArn>${arn}</TargetGroupArn>`);
    expect(body).toMatch(/<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/DescribeTargetGroupsResponse>$/);
  });

  it('keeps serving the SDK after all of that', async () => {
    const out = await client({ maxAttempts: 1 }).send(new DescribeTargetGroupsCommand({}));
    expect(out.TargetGroups?.map((g) => g.TargetGroupName).sort()).toEqual(['not-ours', 'resilience']);
  });
});

async function post(body: string | Buffer, options: { authorization?: string | undefined } = { authorization: FAKE_AUTH }) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.authorization !== undefined) headers['authorization'] = options.authorization;
  const reply = await fetch(`${elb.url}/`, { method: 'POST', headers, body });
  return {
    status: reply.status,
    contentType: reply.headers.get('content-type'),
    requestId: reply.headers.get('x-amzn-requestid'),
    body: await reply.text(),
  };
}

/** Type, Code and Message of an `<ErrorResponse>`, unescaped. */
function errorOf(xml: string): { type?: string; code?: string; message?: string } {
  const field = (name: string) => {
    const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
    return match?.[1]
      ?.replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  };
  return { type: field('Type'), code: field('Code'), message: field('Message') };
}
