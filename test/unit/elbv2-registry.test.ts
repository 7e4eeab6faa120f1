// The ELBv2 adapter with the real SDK against the local endpoint (in process, no Docker):
// the expired-token retry only when newer credentials exist, one observation and one rate
// one observation per HTTP request, one SDK attempt per call unless asked for more, error kinds, reachability, timeouts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRotatingCredentials } from '../../agent/elb/credentials.ts';
import { Elbv2Registry, isReachable, kindOf, type Elbv2RegistryOptions } from '../../agent/elb/elbv2-registry.ts';
import { OperationError } from '../../agent/errors.ts';
import { startLocalElbv2, type LocalElbv2 } from '../support/local-elbv2/index.ts';
import { credentialsNumber, writeCredentialsFile } from '../support/shared-credentials-file.ts';
import { waitFor } from '../support/wait.ts';

let elb: LocalElbv2;
let arn: string;
let dir: string;
let file: string;

beforeAll(async () => {
  elb = await startLocalElbv2();
  arn = await elb.createTargetGroup({ name: 'unit' });
  dir = mkdtempSync(join(tmpdir(), 'ecslb-registry-unit-'));
  file = join(dir, 'credentials');
});

afterEach(() => {
  elb.clearFaults();
  elb.setAcceptedAccessKeyIds(undefined);
  elb.setAllowedTargetGroups(undefined);
  elb.clearRequestLog();
});

afterAll(async () => {
  await elb?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Observed {
  action: string;
  code: string | undefined;
  reachable: boolean;
}

function registry(extra: Partial<Elbv2RegistryOptions> = {}): { registry: Elbv2Registry; observed: Observed[] } {
  const observed: Observed[] = [];
  const r = new Elbv2Registry({
    credentials: createRotatingCredentials({ AWS_SHARED_CREDENTIALS_FILE: file }),
    endpoint: elb.url,
    observe: (action, code, _ms, reachable) => observed.push({ action, code, reachable }),
    ...extra,
  });
  return { registry: r, observed };
}

async function operationError(p: Promise<unknown>): Promise<OperationError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(OperationError);
  return err as OperationError;
}

const calls = () => elb.requestLog.map((e) => [e.action, e.caller, e.errorCode ?? e.status]);

describe('Elbv2Registry and expired credentials', () => {
  it('retries at once with the new key when the file rotated while the call was in flight', async () => {
    writeCredentialsFile(file, credentialsNumber(1));
    elb.setAcceptedAccessKeyIds(['AKIDROT0001']);
    const { registry: r, observed } = registry();
    await r.describeTargets(arn);
    elb.clearRequestLog();
    // The file rotates once the call has reached the endpoint (which counts the delayed request
    // off `times` on arrival, and checks the key after the delay): a fixed 50 ms could pass before
    // a slow machine had even signed the call, which then went out with the new key.
    elb.setFaults({ latencyMs: 1_000, times: 1 });
    const call = r.describeTargets(arn);
    await waitFor(() => elb.faults().times === 0, { description: 'the call arrived at the endpoint', timeoutMs: 10_000, intervalMs: 5 });
    writeCredentialsFile(file, credentialsNumber(2));
    elb.setAcceptedAccessKeyIds(['AKIDROT0002']);
    await expect(call).resolves.toEqual([]);
    expect(calls()).toEqual([
      ['DescribeTargetHealth', 'AKIDROT0001', 'ExpiredToken'],
      ['DescribeTargetHealth', 'AKIDROT0002', 200],
    ]);
    expect(observed.slice(1)).toEqual([
      { action: 'DescribeTargetHealth', code: 'ExpiredToken', reachable: false },
      { action: 'DescribeTargetHealth', code: undefined, reachable: true },
    ]);
  });

  it('does not retry when the file still holds the rejected key: one request, a transient error', async () => {
    writeCredentialsFile(file, credentialsNumber(3));
    elb.setAcceptedAccessKeyIds(['AKIDROT0004']);
    const { registry: r } = registry();
    const err = await operationError(r.register(arn, [{ id: '10.8.0.10', port: 30000, availabilityZone: 'all' }]));
    expect(err).toMatchObject({ operation: 'RegisterTargets', code: 'ExpiredToken', kind: 'transient' });
    expect(calls()).toEqual([['RegisterTargets', 'AKIDROT0003', 'ExpiredToken']]);
    // Once the file has the new key, the next call works without any reset.
    writeCredentialsFile(file, credentialsNumber(4));
    await r.register(arn, [{ id: '10.8.0.10', port: 30000, availabilityZone: 'all' }]);
    expect(calls().at(-1)).toEqual(['RegisterTargets', 'AKIDROT0004', 200]);
    await r.deregister(arn, [{ id: '10.8.0.10', port: 30000, availabilityZone: 'all' }]);
  });

  it('fails transiently with the file problem as its code, sending nothing, while the file is missing', async () => {
    rmSync(file, { force: true });
    const { registry: r, observed } = registry();
    const err = await operationError(r.describeTargets(arn));
    expect(err).toMatchObject({ code: 'CredentialsFileMissing', kind: 'transient' });
    expect(elb.requestLog).toEqual([]);
    expect(observed).toEqual([]);
  });
});

describe('Elbv2Registry requests', () => {
  beforeAll(() => writeCredentialsFile(file, credentialsNumber(9)));

  it('makes one attempt per call by default: a throttled or failed call is the core\'s to retry, at its pace', async () => {
    const { registry: r, observed } = registry();
    elb.setFaults({ throttle: 1, times: 1 });
    const err = await operationError(r.describeTargets(arn));
    expect(err).toMatchObject({ code: 'Throttling', kind: 'throttled' });
    expect(observed).toEqual([{ action: 'DescribeTargetHealth', code: 'Throttling', reachable: false }]);
    expect(elb.requestLog).toHaveLength(1);
  });

  it('observes every HTTP request, the SDK retries included (when asked for)', async () => {
    elb.clearRequestLog();
    const { registry: r, observed } = registry({ maxAttempts: 3 });
    elb.setFaults({ serviceUnavailable: 1, times: 1 });
    await r.describeTargets(arn);
    elb.clearFaults();
    elb.setFaults({ throttle: 1, times: 1 });
    await r.describeTargets(arn);
    expect(elb.requestLog).toHaveLength(4);
    expect(observed).toEqual([
      { action: 'DescribeTargetHealth', code: 'ServiceUnavailable', reachable: false },
      { action: 'DescribeTargetHealth', code: undefined, reachable: true },
      { action: 'DescribeTargetHealth', code: 'Throttling', reachable: false },
      { action: 'DescribeTargetHealth', code: undefined, reachable: true },
    ]);
  });

  it('gives up after the SDK attempts with a transient error when the endpoint keeps failing', async () => {
    const { registry: r, observed } = registry({ maxAttempts: 3 });
    elb.setFaults({ internalError: 1 });
    const err = await operationError(r.describeTargets(arn));
    expect(err).toMatchObject({ code: 'InternalFailure', kind: 'transient' });
    expect(observed.map((o) => o.code)).toEqual(['InternalFailure', 'InternalFailure', 'InternalFailure']);
  });

  it('reports dropped connections as unreachable and transient', async () => {
    const { registry: r, observed } = registry({ maxAttempts: 1 });
    elb.setFaults({ dropConnection: 1 });
    const err = await operationError(r.describeTargets(arn));
    expect(err.kind).toBe('transient');
    expect(observed).toEqual([{ action: 'DescribeTargetHealth', code: err.code, reachable: false }]);
  });

  it('times out a request that gets no answer instead of holding the loop', async () => {
    const { registry: r } = registry({ maxAttempts: 1, requestTimeoutMs: 300 });
    elb.setFaults({ latencyMs: 5000 });
    const started = Date.now();
    const err = await operationError(r.describeTargets(arn));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err.kind).toBe('transient');
  });

  it('treats AccessDenied as permanent but as an answer (the API is reachable)', async () => {
    const { registry: r, observed } = registry();
    elb.setAllowedTargetGroups([]);
    const err = await operationError(r.register(arn, [{ id: '10.8.0.10', port: 30001, availabilityZone: 'all' }]));
    expect(err).toMatchObject({ code: 'AccessDenied', kind: 'permanent' });
    expect(observed).toEqual([{ action: 'RegisterTargets', code: 'AccessDenied', reachable: true }]);
  });

  it.each([
    ['no error', undefined, true, undefined],
    ['InvalidTarget (400)', { name: 'InvalidTargetException', Code: 'InvalidTarget', $metadata: { httpStatusCode: 400 } }, true, 'permanent'],
    ['ValidationError (400)', { Code: 'ValidationError', $metadata: { httpStatusCode: 400 } }, true, 'permanent'],
    ['TargetGroupNotFound (400)', { name: 'TargetGroupNotFoundException', Code: 'TargetGroupNotFound', $metadata: { httpStatusCode: 400 } }, true, 'permanent'],
    ['AccessDenied (403)', { Code: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, true, 'permanent'],
    ['ThrottlingException (400)', { Code: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }, false, 'throttled'],
    ['InternalFailure (500)', { Code: 'InternalFailure', $metadata: { httpStatusCode: 500 } }, false, 'transient'],
    ['ServiceUnavailable (503)', { Code: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, false, 'transient'],
    ['a request timeout', { name: 'TimeoutError' }, false, 'transient'],
    ['ECONNREFUSED', { code: 'ECONNREFUSED', name: 'Error' }, false, 'transient'],
    ['Throttling (400)', { Code: 'Throttling', $metadata: { httpStatusCode: 400 } }, false, 'throttled'],
    ['ExpiredToken (403)', { Code: 'ExpiredToken', $metadata: { httpStatusCode: 403 } }, false, 'transient'],
    ['a 502 without a code', { name: 'Error', $metadata: { httpStatusCode: 502 } }, false, 'transient'],
    ['ECONNRESET', { code: 'ECONNRESET', name: 'Error' }, false, 'transient'],
  ])('classifies %s', (_case, err, reachable, kind) => {
    expect(isReachable(err)).toBe(reachable);
    if (kind !== undefined) expect(kindOf(err)).toBe(kind);
  });
});

describe('Elbv2Registry register with sendAfter', () => {
  beforeAll(() => writeCredentialsFile(file, credentialsNumber(9)));
  const T = [{ id: '10.8.0.10', port: 31000, availabilityZone: 'all' }];

  it('sends nothing until it resolves (the records on disk), then the one request', async () => {
    const { registry: r, observed } = registry();
    expect(r.sendsAfter).toBe(true);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const call = r.register(arn, T, gate);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(elb.requestLog).toEqual([]);
    release();
    await call;
    expect(calls()).toEqual([['RegisterTargets', expect.anything(), 200]]);
    expect(observed).toEqual([{ action: 'RegisterTargets', code: undefined, reachable: true }]);
    expect(elb.targets(arn).map((t) => `${t.id}:${t.port}`)).toContain('10.8.0.10:31000');
  });

  it('sends nothing and rejects with the reason when it rejects; no request is observed', async () => {
    const { registry: r, observed } = registry();
    const reason = new Error('records not written');
    const err = await r.register(arn, [{ id: '10.8.0.10', port: 31001, availabilityZone: 'all' }], Promise.reject(reason)).then(() => undefined, (e: unknown) => e);
    expect(err).toBe(reason);
    expect(elb.requestLog).toEqual([]);
    expect(observed).toEqual([]);
  });
});
