/**
 * The HTTP face of the local ECS: the awsJson1_1 protocol as the SDK's ECS client speaks it
 * (POST / with `Content-Type: application/x-amz-json-1.1` and `X-Amz-Target:
 * AmazonEC2ContainerServiceV20141113.<Action>`), errors as `{"__type", "message"}` with HTTP
 * 400 (ThrottlingException "Rate exceeded" from the optional account bucket, as the ECS
 * developer guide's "Request throttling" page shows it). Served on the same port as ELBv2:
 * the header tells the two apart. Every request is logged like an ELBv2 one.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseCallerCredential } from './caller-credential.ts';
import { ECS_TARGET_PREFIX, runEcsAction } from './ecs-actions.ts';
import { EcsError, type EcsModel } from './ecs-model.ts';
import type { RequestLog } from './request-log.ts';
import type { TokenBucket } from './token-bucket.ts';

/** Whether a request is for ECS (its X-Amz-Target names the ECS service). */
export const isEcsRequest = (req: IncomingMessage): boolean => String(req.headers['x-amz-target'] ?? '').startsWith(ECS_TARGET_PREFIX);

export interface EcsEndpointParts {
  readonly model: EcsModel;
  readonly log?: RequestLog;
  /** The account's ECS bucket, if any (read at each request, so it can be swapped). */
  readonly bucket?: () => TokenBucket | undefined;
  /** Told of every request's action and body before it runs. */
  readonly onCall?: (action: string, body: Record<string, unknown>) => void;
}

/** Builds the `request` listener for ECS requests. */
export function createEcsListener(parts: EcsEndpointParts): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const time = Date.now();
      const receivedAt = performance.timeOrigin + performance.now();
      const requestId = randomUUID();
      const action = String(req.headers['x-amz-target'] ?? '').slice(ECS_TARGET_PREFIX.length);
      const credential = parseCallerCredential(req.headers.authorization);
      const caller = credential.kind === 'sigv4' ? credential.accessKeyId : undefined;
      let status = 200;
      let payload: unknown;
      let errorCode: string | undefined;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new EcsError('SerializationException', 'The request body is not a JSON object.');
        parts.onCall?.(action, body as Record<string, unknown>);
        if (parts.bucket?.()?.tryTake() === false) throw new EcsError('ThrottlingException', 'Rate exceeded');
        payload = runEcsAction(action, body as Record<string, unknown>, parts.model);
      } catch (err) {
        const e = err instanceof EcsError ? err : err instanceof SyntaxError ? new EcsError('SerializationException', err.message) : new EcsError('ServerException', String(err), 500);
        status = e.httpStatus;
        errorCode = e.code;
        payload = { __type: e.code, message: e.message };
      }
      const text = Buffer.from(JSON.stringify(payload), 'utf8');
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': text.length, 'x-amzn-requestid': requestId }).end(text);
      parts.log?.add({ time, receivedAt, action, ...(caller !== undefined ? { caller } : {}), status, ...(errorCode !== undefined ? { errorCode } : {}), requestId });
    });
  };
}
