// A steady HTTP load for deployment tests: requests go out on a fixed schedule (open loop:
// the n-th request is due at start + n/rate whatever earlier ones are doing, so a stall shows
// up as failures and not as a quietly lower rate), with bounded concurrency and a deadline per
// request, and every outcome is counted: ok (2xx by default), failed with the status or the
// connection error code, and a per-second timeline by the second each request was sent.
//
// Keep-alive is off by default: every request opens a new connection, so each one exercises
// the listener's accept path and no failure can come from the client reusing a pooled
// connection that the server had just closed (the classic keep-alive race), which would be
// counted against the deployment. `keepAlive: true` reuses connections instead (the listener
// routes per request either way).
import { Agent, request } from 'node:http';
import type { IncomingMessage } from 'node:http';

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** An http:// URL. */
  readonly url: string;
  readonly ratePerSecond: number;
  /** Reuse connections (default false: a new connection per request, `Connection: close`). */
  readonly keepAlive?: boolean;
  /** Deadline per request, response body included (default 5000); past it the request fails as `TIMEOUT`. */
  readonly timeoutMs?: number;
  /**
   * Requests in flight at most (default: enough for the rate at the timeout, `ceil(rate x
   * timeout) + 1`, so nothing is skipped unless requests pile up to their deadline). A request
   * due while the bound is reached is not sent and counted as `skipped`.
   */
  readonly maxInFlight?: number;
  /** Stop sending after this long; `done` then resolves once the last requests settle. Default: until stop(). */
  readonly durationMs?: number;
  /** Which statuses count as ok (default 200-299). */
  readonly isOk?: (status: number) => boolean;
  /** Failures kept in detail (default 1000; counts are always complete). */
  readonly maxFailureRecords?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One failed request. */
export interface LoadFailure {
  /** When it was sent, ms after the start. */
  readonly atMs: number;
  /** The response status, when a response came. */
  readonly status?: number;
  /** The error code otherwise: ECONNREFUSED, ECONNRESET, TIMEOUT, ... */
  readonly code?: string;
  /** The response was made by the load balancer itself (`Server: awselb/2.0`), not by the app. */
  readonly fromLoadBalancer?: boolean;
  readonly durationMs: number;
}

/** Counts for the requests sent in one second (second 0 = the first second). */
export interface LoadSecond {
  readonly second: number;
  sent: number;
  ok: number;
  failed: number;
  skipped: number;
}

/** Everything counted so far. `sent = ok + failed + inFlight`; skipped requests were never sent. */
export interface LoadStats {
  /** Epoch ms of the start (to line the timeline up with other events). */
  readonly startedAt: number;
  readonly elapsedMs: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly inFlight: number;
  /** The most requests in flight at once. */
  readonly peakInFlight: number;
  /** Failed responses by status. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Failed requests without a (complete) response, by error code. */
  readonly errors: Readonly<Record<string, number>>;
  readonly timeline: readonly LoadSecond[];
  /** The first `maxFailureRecords` failures. */
  readonly failures: readonly LoadFailure[];
  /** Of ok requests. */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

/** A running load. */
export interface LoadGenerator {
  stats(): LoadStats;
  /** Stops sending, waits for requests in flight (each ends by its deadline), returns the final stats. */
  stop(): Promise<LoadStats>;
  /** Resolves with the final stats after `durationMs` (or stop()) once nothing is in flight. */
  readonly done: Promise<LoadStats>;
}

/** Starts sending `ratePerSecond` requests per second to `url`. */
export function startLoad(options: LoadOptions): LoadGenerator {
  const rate = options.ratePerSecond;
  if (!(rate > 0) || !Number.isFinite(rate)) throw new Error(`ratePerSecond must be > 0, not ${rate}`);
  const url = new URL(options.url);
  if (url.protocol !== 'http:') throw new Error(`only http:// URLs, not ${options.url}`);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxInFlight = options.maxInFlight ?? Math.ceil((rate * timeoutMs) / 1000) + 1;
  const isOk = options.isOk ?? ((status: number) => status >= 200 && status < 300);
  const maxFailureRecords = options.maxFailureRecords ?? 1_000;
  const agent = options.keepAlive ? new Agent({ keepAlive: true, maxSockets: maxInFlight }) : undefined;

  const startedAt = Date.now();
  const periodMs = 1000 / rate;
  let scheduled = 0;
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const timeline: LoadSecond[] = [];
  const failures: LoadFailure[] = [];
  const latencies: number[] = [];
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let settleWaiters: Array<() => void> = [];

  const secondOf = (atMs: number): LoadSecond => {
    const second = Math.floor(atMs / 1000);
    for (let s = timeline.length; s <= second; s++) timeline.push({ second: s, sent: 0, ok: 0, failed: 0, skipped: 0 });
    return timeline[second] as LoadSecond;
  };

  const settled = (): void => {
    inFlight -= 1;
    if (inFlight === 0 && stopping) {
      const waiters = settleWaiters;
      settleWaiters = [];
      for (const wake of waiters) wake();
    }
  };

  const fail = (atMs: number, startedMs: number, detail: { status?: number; code?: string; fromLoadBalancer?: boolean }): void => {
    failed += 1;
    secondOf(atMs).failed += 1;
    if (detail.status !== undefined) statuses[detail.status] = (statuses[detail.status] ?? 0) + 1;
    else errors[detail.code ?? 'ERROR'] = (errors[detail.code ?? 'ERROR'] ?? 0) + 1;
    if (failures.length < maxFailureRecords) failures.push({ atMs, ...detail, durationMs: Date.now() - startedMs });
  };

  const send = (atMs: number): void => {
    if (inFlight >= maxInFlight) {
      skipped += 1;
      secondOf(atMs).skipped += 1;
      return;
    }
    sent += 1;
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    secondOf(atMs).sent += 1;
    const startedMs = Date.now();
    let done = false;
    const finish = (outcome: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      outcome();
      settled();
    };
    const req = request(url, {
      method: 'GET',
      agent: agent ?? false,
      headers: { ...options.headers, ...(agent ? {} : { connection: 'close' }) },
    });
    const deadline = setTimeout(() => {
      finish(() => fail(atMs, startedMs, { code: 'TIMEOUT' }));
      req.destroy();
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => finish(() => fail(atMs, startedMs, { code: error.code ?? error.message })));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const fromLoadBalancer = res.headers.server === 'awselb/2.0';
      res.on('error', (error: NodeJS.ErrnoException) => finish(() => fail(atMs, startedMs, { code: error.code ?? 'ECONNRESET' })));
      res.on('close', () => {
        if (!res.complete) finish(() => fail(atMs, startedMs, { code: 'ECONNRESET' }));
      });
      res.on('end', () =>
        finish(() => {
          if (!isOk(status)) return fail(atMs, startedMs, { status, ...(fromLoadBalancer ? { fromLoadBalancer } : {}) });
          ok += 1;
          secondOf(atMs).ok += 1;
          latencies.push(Date.now() - startedMs);
        }),
      );
      res.resume();
    });
    req.end();
  };

  const tick = (): void => {
    if (stopping) return;
    const elapsed = Date.now() - startedAt;
    // Send everything due by now (catching up after a stall keeps the long-run rate exact).
    while (scheduled * periodMs <= elapsed) {
      const atMs = scheduled * periodMs;
      if (options.durationMs !== undefined && atMs >= options.durationMs) {
        void stop();
        return;
      }
      scheduled += 1;
      send(Math.round(atMs));
    }
    timer = setTimeout(tick, Math.max(0, scheduled * periodMs - (Date.now() - startedAt)));
  };

  const stats = (): LoadStats => {
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      startedAt,
      elapsedMs: Date.now() - startedAt,
      sent,
      ok,
      failed,
      skipped,
      inFlight,
      peakInFlight,
      statuses: { ...statuses },
      errors: { ...errors },
      timeline: timeline.map((second) => ({ ...second })),
      failures: [...failures],
      latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? 0 },
    };
  };

  let resolveDone: (final: LoadStats) => void = () => {};
  const done = new Promise<LoadStats>((resolve) => (resolveDone = resolve));
  let stopped: Promise<LoadStats> | undefined;
  const stop = (): Promise<LoadStats> => {
    stopped ??= (async () => {
      stopping = true;
      clearTimeout(timer);
      if (inFlight > 0) await new Promise<void>((resolve) => settleWaiters.push(resolve));
      agent?.destroy();
      const final = stats();
      resolveDone(final);
      return final;
    })();
    return stopped;
  };

  tick();
  return { stats, stop, done };
}
