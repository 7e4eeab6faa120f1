/**
 * The HTTP face of the endpoint: the AWS query protocol over HTTP/1.1. One request goes
 * through faults, authentication, throttling (see account-throttle.ts), the IAM stand-in and
 * finally the action, and every outcome (success, AWS error, dropped connection) is answered
 * AWS-style and logged.
 * Nothing a client sends can crash it: unexpected failures become `InternalFailure`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessPolicy } from './access-policy.ts';
import type { ThrottleCounter } from './account-throttle.ts';
import { parseCallerCredential } from './caller-credential.ts';
import { ElbError, internalFailure, serviceUnavailable, throttlingError } from './elb-error.ts';
import { runAction } from './elbv2-actions.ts';
import type { Elbv2Model } from './elbv2-model.ts';
import type { FaultInjector } from './fault-injector.ts';
import { parseQueryParams, readMembers } from './query-params.ts';
import type { QueryParams } from './query-params.ts';
import type { RequestLog, RequestLogEntry, RequestLogTarget } from './request-log.ts';
import { errorDocument, successDocument } from './xml.ts';

/** Largest request body accepted (AWS refuses far smaller query requests than this anyway). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the request pipeline works with. */
export interface EndpointParts {
  readonly model: Elbv2Model;
  readonly faults: FaultInjector;
  readonly policy: AccessPolicy;
  /**
   * Spends a request's tokens from every bucket that applies to `action` (the one for all
   * actions and the action's class bucket); false means "answer Throttling". True when off.
   */
  readonly admit: (action: string) => boolean;
  /** Counts each request reaching the throttle step: let through, or answered Throttling. */
  readonly throttleCounter: ThrottleCounter;
  readonly log: RequestLog;
  /** Aborted when the endpoint closes: cuts injected latency short. */
  readonly closing: AbortSignal;
}

/** Builds the `request` listener for a node:http server. */
export function createRequestListener(parts: EndpointParts): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(parts, req, res).catch((error: unknown) => {
      // Last line of defence: the pipeline itself failed. Answer if we still can.
      console.error('local-elbv2: unexpected failure while handling a request', error);
      if (!res.headersSent && !res.destroyed) send(res, 500, errorDocument(internalFailure(), randomUUID()), randomUUID());
    });
  };
}

async function handle(parts: EndpointParts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const time = Date.now();
  const receivedAt = performance.timeOrigin + performance.now();
  const requestId = randomUUID();
  const body = await readBody(req);
  const url = new URL(req.url ?? '/', 'http://local-elbv2');
  const params = body.tooLarge ? new Map<string, string>() : parseQueryParams(url.search.slice(1), body.text);
  const action = params.get('Action') ?? '';
  const credential = parseCallerCredential(req.headers.authorization, params.get('X-Amz-Credential'));
  const caller = credential.kind === 'sigv4' ? credential.accessKeyId : undefined;
  const targetGroupArn = params.get('TargetGroupArn');
  const targets = logTargets(params);
  const fault = parts.faults.decide(action);
  const replyLost = fault.outcome === 'responseLost';
  const logEntry = (status: number, errorCode?: string): void => {
    const entry: RequestLogEntry = {
      time,
      receivedAt,
      action,
      ...(targetGroupArn !== undefined ? { targetGroupArn } : {}),
      ...(targets !== undefined ? { targets } : {}),
      ...(caller !== undefined ? { caller } : {}),
      status,
      ...(errorCode !== undefined ? { errorCode } : {}),
      ...(replyLost ? { replyLost: true as const } : {}),
      requestId,
    };
    parts.log.add(entry);
  };

  if (fault.latencyMs > 0) await sleep(fault.latencyMs, parts.closing);
  if (res.destroyed || req.socket.destroyed) return;
  if (fault.outcome === 'drop') {
    logEntry(0);
    req.socket.destroy();
    return;
  }

  let error: ElbError | undefined;
  if (body.tooLarge) error = new ElbError('RequestEntityTooLarge', `Request body is larger than ${MAX_BODY_BYTES} bytes`, 413);
  else if (fault.outcome === 'internalError') error = internalFailure();
  else if (fault.outcome === 'serviceUnavailable') error = serviceUnavailable();
  error ??= parts.policy.checkCredential(credential);
  if (!error) {
    // An injected throttling storm spends no tokens but is counted like any throttled call.
    const admitted = fault.outcome !== 'throttle' && parts.admit(action);
    parts.throttleCounter.record(action, admitted);
    if (!admitted) error = throttlingError();
  }
  error ??= parts.policy.checkResource(action, targetGroupArn, caller ?? 'unknown');

  if (!error) {
    try {
      const { result } = runAction(params, parts.model);
      if (replyLost) req.socket.destroy();
      else send(res, 200, successDocument(action, result, requestId), requestId);
      logEntry(200);
      return;
    } catch (thrown) {
      if (thrown instanceof ElbError) error = thrown;
      else {
        console.error(`local-elbv2: ${action} failed unexpectedly`, thrown);
        error = internalFailure();
      }
    }
  }
  if (replyLost) req.socket.destroy();
  else send(res, error.httpStatus, errorDocument(error, requestId), requestId);
  logEntry(error.httpStatus, error.code);
}

function send(res: ServerResponse, status: number, xml: string, requestId: string): void {
  if (res.destroyed) return;
  const payload = Buffer.from(xml, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': payload.length,
    'x-amzn-requestid': requestId,
    date: new Date().toUTCString(),
  });
  res.end(payload);
}

async function readBody(req: IncomingMessage): Promise<{ text: string; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    }
  } catch {
    // A client that vanishes mid-body gets whatever arrived; its reply will go nowhere anyway.
  }
  return { text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge };
}

/** Targets named in the request, as sent, for the log (no validation). */
function logTargets(params: QueryParams): RequestLogTarget[] | undefined {
  const members = readMembers(params, 'Targets');
  if (members === undefined) return undefined;
  return members.map(({ fields }) => {
    const port = fields['Port'] !== undefined && /^\d{1,5}$/.test(fields['Port']) ? Number(fields['Port']) : undefined;
    const az = fields['AvailabilityZone'];
    return { id: fields['Id'] ?? '', ...(port !== undefined ? { port } : {}), ...(az !== undefined ? { az } : {}) };
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
