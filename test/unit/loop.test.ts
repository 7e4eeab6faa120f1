// The single-flight reconcile loop, driven with a scripted pass and fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Log } from '../../agent/log.ts';
import { ReconcileLoop, type LoopOptions } from '../../agent/reconcile/loop.ts';
import type { PassResult } from '../../agent/reconcile/reconciler.ts';

const OK: PassResult = { registered: 0, deregistered: 0, failed: 0, ownedTargets: 0, settled: true };

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A pass step that finishes when the gate opens. */
const after = (gate: Deferred, result: PassResult = OK) => async (): Promise<PassResult> => {
  await gate.promise;
  return result;
};

/** A log that keeps its lines. */
function memoryLog(lines: { level: string; message: string; fields?: object }[] = []): Log & { lines: typeof lines } {
  const at = (level: string) => (message: string, fields?: object) => {
    lines.push({ level, message, ...(fields ? { fields } : {}) });
  };
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => memoryLog(lines) };
}

/**
 * A pass whose calls are recorded; each call runs the next scripted step (or succeeds).
 * It also measures how many passes ever ran at the same time.
 */
function scriptedPass(steps: ((reasons: readonly string[]) => Promise<PassResult>)[] = []) {
  const calls: (readonly string[])[] = [];
  let active = 0;
  let maxActive = 0;
  const pass = async (reasons: readonly string[]): Promise<PassResult> => {
    calls.push(reasons);
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      const step = steps[calls.length - 1];
      return step ? await step(reasons) : OK;
    } finally {
      active--;
    }
  };
  return { pass, calls, maxActive: () => maxActive };
}

const loops: ReconcileLoop[] = [];
function newLoop(o: Partial<LoopOptions> & Pick<LoopOptions, 'pass'>): ReconcileLoop {
  const loop = new ReconcileLoop({ log: memoryLog(), intervalMs: 60_000, ...o });
  loops.push(loop);
  return loop;
}

/** Lets pending promise callbacks run (without advancing fake time). */
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  for (const loop of loops.splice(0)) await loop.stop();
  vi.useRealTimers();
});

describe('ReconcileLoop', () => {
  it('runs one pass at a time; triggers during a pass coalesce into exactly one more, with the union of reasons', async () => {
    const gate = deferred();
    const script = scriptedPass([after(gate)]);
    const loop = newLoop({ pass: script.pass });

    loop.trigger('startup');
    await settle();
    expect(script.calls).toEqual([['startup']]);

    loop.trigger('event:start');
    loop.trigger('periodic');
    loop.trigger('event:start');
    loop.trigger('address-change');
    await settle();
    expect(script.calls).toHaveLength(1); // the first pass still holds the gate

    gate.resolve();
    await loop.idle();
    expect(script.calls).toEqual([['startup'], ['address-change', 'event:start', 'periodic']]);
    expect(script.maxActive()).toBe(1);
  });

  it('runs a trigger that comes after the loop went idle', async () => {
    const script = scriptedPass();
    const loop = newLoop({ pass: script.pass });
    loop.trigger('a');
    await loop.idle();
    loop.trigger('b');
    await loop.idle();
    expect(script.calls).toEqual([['a'], ['b']]);
  });

  it('retries a failed pass after a growing backoff, and reports each failure', async () => {
    const log = memoryLog();
    const reported: { ok: boolean; error?: string }[] = [];
    const fail = async (): Promise<PassResult> => {
      throw new Error('ECONNREFUSED /var/run/docker.sock');
    };
    const script = scriptedPass([fail, fail, fail]);
    const loop = newLoop({
      pass: script.pass,
      log,
      retry: { baseMs: 100, capMs: 1000 },
      random: () => 1, // the top of each backoff window: 100, 200, 400 ms
      onPass: (result, _ms, error) => reported.push({ ok: result !== undefined, ...(error ? { error: (error as Error).message } : {}) }),
    });

    loop.trigger('startup');
    await settle();
    expect(script.calls).toHaveLength(1);

    for (const [delay, callsAfter] of [[100, 2], [200, 3], [400, 4]] as const) {
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(script.calls, `nothing before ${delay} ms`).toHaveLength(callsAfter - 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(script.calls, `a retry at ${delay} ms`).toHaveLength(callsAfter);
    }
    expect(script.calls.slice(1)).toEqual([['retry'], ['retry'], ['retry']]);

    // the fourth pass succeeded: no more retries
    await vi.advanceTimersByTimeAsync(10_000);
    expect(script.calls).toHaveLength(4);
    expect(reported).toEqual([
      { ok: false, error: 'ECONNREFUSED /var/run/docker.sock' },
      { ok: false, error: 'ECONNREFUSED /var/run/docker.sock' },
      { ok: false, error: 'ECONNREFUSED /var/run/docker.sock' },
      { ok: true },
    ]);
    const warnings = log.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => l.message)).toEqual([
      'reconcile failed, retrying in 100 ms: ECONNREFUSED /var/run/docker.sock',
      'reconcile failed, retrying in 200 ms: ECONNREFUSED /var/run/docker.sock',
      'reconcile failed, retrying in 400 ms: ECONNREFUSED /var/run/docker.sock',
    ]);
  });

  it('holds triggers that arrive while backing off until the retry, then runs them as one pass', async () => {
    const fail = async (): Promise<PassResult> => {
      throw new Error('docker down');
    };
    const script = scriptedPass([fail]);
    const loop = newLoop({ pass: script.pass, retry: { baseMs: 1000, capMs: 1000 }, random: () => 1 });
    loop.trigger('startup');
    await settle();
    expect(script.calls).toHaveLength(1);
    // A stream of events during the backoff must not turn into a retry storm.
    for (const t of [100, 200, 300]) {
      loop.trigger(`event:${t}`);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(script.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(700);
    expect(script.calls).toHaveLength(2);
    expect(script.calls[1]).toEqual(['event:100', 'event:200', 'event:300', 'retry']);
  });

  it('starts the backoff over after a success', async () => {
    const fail = async (): Promise<PassResult> => {
      throw new Error('boom');
    };
    const script = scriptedPass([fail, fail, async () => OK, fail]);
    const loop = newLoop({ pass: script.pass, retry: { baseMs: 100, capMs: 1000 }, random: () => 1 });
    loop.trigger('startup');
    await vi.advanceTimersByTimeAsync(100 + 200); // two retries: the second succeeds
    expect(script.calls).toHaveLength(3);
    loop.trigger('event:die'); // fails again
    await settle();
    expect(script.calls).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(99);
    expect(script.calls).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(1);
    expect(script.calls).toHaveLength(5);
  });

  it('never retries sooner than half the base delay, even when random() gives 0', async () => {
    const script = scriptedPass([
      async () => {
        throw new Error('boom');
      },
    ]);
    const loop = newLoop({ pass: script.pass, retry: { baseMs: 100, capMs: 1000 }, random: () => 0 });
    loop.trigger('startup');
    await vi.advanceTimersByTimeAsync(49);
    expect(script.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(script.calls).toHaveLength(2);
  });

  it('stop() waits for the pass in flight and prevents any further pass', async () => {
    const gate = deferred();
    const script = scriptedPass([after(gate, { ...OK, nextPassInMs: 100 })]);
    const loop = newLoop({ pass: script.pass });
    loop.startPeriodic();
    loop.trigger('startup');
    loop.trigger('event:kill'); // waiting behind the pass in flight: dropped by stop()
    await settle();

    let stopped = false;
    const stopping = loop.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);

    loop.trigger('event:start'); // after stop(): ignored
    gate.resolve();
    await stopping;
    expect(stopped).toBe(true);
    expect(vi.getTimerCount(), 'no timer left to keep the process alive').toBe(0);

    await vi.advanceTimersByTimeAsync(10 * 60_000); // no periodic pass, no retry
    loop.trigger('late');
    await settle();
    expect(script.calls).toEqual([['startup']]);
  });

  it('stop() does not schedule a retry for a pass that fails while stopping', async () => {
    const gate = deferred();
    const script = scriptedPass([after(gate)]);
    const loop = newLoop({ pass: script.pass, retry: { baseMs: 10, capMs: 10 } });
    loop.trigger('startup');
    await settle();
    const stopping = loop.stop();
    gate.reject(new Error('interrupted'));
    await stopping;
    expect(vi.getTimerCount(), 'no retry timer after stop()').toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(script.calls).toHaveLength(1);
  });

  it('stop() on an idle loop resolves at once', async () => {
    const loop = newLoop({ pass: scriptedPass().pass });
    await expect(loop.stop()).resolves.toBeUndefined();
  });

  it('runs again after nextPassInMs when a pass asks for it', async () => {
    const script = scriptedPass([async () => ({ ...OK, failed: 1, nextPassInMs: 300 })]);
    const loop = newLoop({ pass: script.pass });
    loop.trigger('startup');
    await vi.advanceTimersByTimeAsync(299);
    expect(script.calls).toEqual([['startup']]);
    await vi.advanceTimersByTimeAsync(1);
    expect(script.calls).toEqual([['startup'], ['retry']]);
    await vi.advanceTimersByTimeAsync(10_000); // the second pass asked for nothing more
    expect(script.calls).toHaveLength(2);
  });

  it.each([
    [0, 50],
    [10, 50],
    [50, 50],
    [51, 51],
  ])('nextPassInMs %d waits %d ms (never a tight loop)', async (asked, waited) => {
    const script = scriptedPass([async () => ({ ...OK, nextPassInMs: asked })]);
    const loop = newLoop({ pass: script.pass });
    loop.trigger('startup');
    await vi.advanceTimersByTimeAsync(waited - 1);
    expect(script.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(script.calls).toHaveLength(2);
  });

  it('one retry timer at a time: a newer nextPassInMs replaces the older one', async () => {
    const script = scriptedPass([async () => ({ ...OK, nextPassInMs: 1000 }), async () => ({ ...OK, nextPassInMs: 200 })]);
    const loop = newLoop({ pass: script.pass });
    loop.trigger('startup');
    await settle();
    loop.trigger('event:start');
    await settle();
    expect(script.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(script.calls).toEqual([['startup'], ['event:start'], ['retry']]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(script.calls).toHaveLength(3);
  });

  it('the pass does not wait for its state write; a write that fails wakes a pass after its backoff', async () => {
    const write = deferred();
    const script = scriptedPass([async () => ({ ...OK, written: write.promise.then(() => 700) })]);
    const loop = newLoop({ pass: script.pass });
    loop.trigger('startup');
    await settle();
    // The next trigger runs at once, its write still in flight.
    loop.trigger('event:kill');
    await settle();
    expect(script.calls).toEqual([['startup'], ['event:kill']]);
    write.resolve();
    await vi.advanceTimersByTimeAsync(699);
    expect(script.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(script.calls).toEqual([['startup'], ['event:kill'], ['retry']]);
  });

  it('a write that fails keeps an earlier retry the loop already has', async () => {
    const script = scriptedPass([async () => ({ ...OK, nextPassInMs: 100, written: Promise.resolve(5_000) })]);
    const loop = newLoop({ pass: script.pass });
    loop.trigger('startup');
    await vi.advanceTimersByTimeAsync(100);
    expect(script.calls).toEqual([['startup'], ['retry']]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(script.calls).toHaveLength(2);
  });

  // intervalMs 1000, jitter 0.1: the period lies in [900, 1100] ms
  it.each([
    [0, 900],
    [0.25, 950],
    [0.5, 1000],
    [0.999, 1100],
  ])('periodic pass with random() = %d comes after %d ms', async (r, delay) => {
    const script = scriptedPass();
    const loop = newLoop({ pass: script.pass, intervalMs: 1000, random: () => r });
    loop.startPeriodic();
    await vi.advanceTimersByTimeAsync(delay - 1);
    expect(script.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(script.calls).toEqual([['periodic']]);
  });

  it('keeps firing the periodic pass, each period drawn afresh within the jitter bounds', async () => {
    const draws = [0, 1, 0.5, 0];
    const script = scriptedPass();
    const loop = newLoop({ pass: script.pass, intervalMs: 10_000, jitter: 0.2, random: () => draws.shift() ?? 0.5 });
    loop.startPeriodic();
    const firedAt: number[] = [];
    for (let t = 0; t <= 40_000 && firedAt.length < 4; t += 100) {
      const before = script.calls.length;
      await vi.advanceTimersByTimeAsync(100);
      if (script.calls.length > before) firedAt.push(t + 100);
    }
    // periods 8000, 12000, 10000, 8000 ms
    expect(firedAt).toEqual([8000, 20_000, 30_000, 38_000]);
    expect(script.calls.every((r) => r.length === 1 && r[0] === 'periodic')).toBe(true);
  });

  it('coalesces a periodic tick into the pass it arrives during', async () => {
    const gate = deferred();
    const script = scriptedPass([after(gate)]);
    const loop = newLoop({ pass: script.pass, intervalMs: 1000, random: () => 0.5 });
    loop.startPeriodic();
    loop.trigger('startup');
    await vi.advanceTimersByTimeAsync(1000); // the tick arrives while startup is still running
    loop.trigger('event:start');
    gate.resolve();
    await loop.idle();
    expect(script.calls).toEqual([['startup'], ['event:start', 'periodic']]);
  });
});
