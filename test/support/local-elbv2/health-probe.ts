/**
 * One real health check, as an ALB sends it: `GET path` with `User-Agent: ELB-HealthChecker/2.0`
 * on a fresh connection, success when the status code matches the group's matcher; or a
 * plain TCP connect for TCP health checks.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { ProbeResult } from './health-state.ts';

/** Where and how to probe. */
export interface ProbeSpec {
  readonly protocol: 'HTTP' | 'HTTPS' | 'TCP';
  readonly address: string;
  readonly port: number;
  readonly path: string;
  readonly timeoutMs: number;
  readonly matches: (statusCode: number) => boolean;
  /** Connect from this local address (the load balancer node's address in its VPC); default: the kernel's choice. */
  readonly localAddress?: string;
}

/** Parses an ELBv2 matcher (`200`, `200,202`, `200-299`); undefined when malformed. */
export function parseHttpCodeMatcher(text: string): ((statusCode: number) => boolean) | undefined {
  const ranges: Array<[number, number]> = [];
  for (const part of text.split(',')) {
    const match = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part);
    if (!match) return undefined;
    const low = Number(match[1]);
    const high = Number(match[2] ?? match[1]);
    if (low < 200 || high > 499 || low > high) return undefined;
    ranges.push([low, high]);
  }
  return (statusCode) => ranges.some(([low, high]) => statusCode >= low && statusCode <= high);
}

/** Runs one health check; never rejects. Aborting ends it at once (as a failed check). */
export function probe(spec: ProbeSpec, signal?: AbortSignal): Promise<ProbeResult> {
  if (signal?.aborted) return Promise.resolve(FAILED);
  return spec.protocol === 'TCP' ? probeTcp(spec, signal) : probeHttp(spec, signal);
}

/** The outcome of a check that got no answer in time. */
const TIMED_OUT: ProbeResult = { ok: false, reason: 'Target.Timeout', description: 'Request timed out' };
const FAILED: ProbeResult = { ok: false, reason: 'Target.FailedHealthChecks', description: 'Health checks failed' };

function probeHttp(spec: ProbeSpec, signal?: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const send = spec.protocol === 'HTTPS' ? httpsRequest : httpRequest;
    let settled = false;
    const onAbort = (): void => finish(FAILED);
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(result);
    };
    const req = send(
      {
        host: spec.address,
        port: spec.port,
        path: spec.path,
        method: 'GET',
        agent: false,
        ...(spec.localAddress !== undefined ? { localAddress: spec.localAddress } : {}),
        headers: { 'user-agent': 'ELB-HealthChecker/2.0', connection: 'close' },
        ...(spec.protocol === 'HTTPS' ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const code = res.statusCode ?? 0;
        res.resume();
        finish(
          spec.matches(code)
            ? { ok: true }
            : { ok: false, reason: 'Target.ResponseCodeMismatch', description: `Health checks failed with these codes: [${code}]` },
        );
      },
    );
    const timer = setTimeout(() => finish(TIMED_OUT), spec.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', () => finish(FAILED));
    req.end();
  });
}

function probeTcp(spec: ProbeSpec, signal?: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: spec.address, port: spec.port, ...(spec.localAddress !== undefined ? { localAddress: spec.localAddress } : {}) });
    const onAbort = (): void => finish(FAILED);
    const finish = (result: ProbeResult): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(TIMED_OUT), spec.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', () => finish(FAILED));
  });
}
