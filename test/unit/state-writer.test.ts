// The state writer: durable saves resolve only once written, writes behind collapse into the
// newest, nothing identical is written twice, and a failed write behind surfaces at the next save.
import { describe, expect, it } from 'vitest';
import { StateWriter } from '../../agent/reconcile/state-writer.ts';
import { EMPTY_STATE, type AgentState, type StatePort } from '../../agent/core/state.ts';

const state = (n: number): AgentState => ({ version: 1, addresses: ['10.8.0.10'], targets: Array.from({ length: n }, (_, i) => ({ targetGroupArn: 'tg', id: '10.8.0.10', port: 32768 + i })) });

/** A port whose saves wait until released, and which records what it was given. */
class SlowPort implements StatePort {
  readonly path = '/memory/state.json';
  readonly saved: number[] = [];
  private waiting: (() => void)[] = [];
  fail = false;
  load = () => Promise.resolve(EMPTY_STATE);
  save(s: AgentState): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push(() => {
        if (this.fail) return reject(new Error('disk full'));
        this.saved.push(s.targets.length);
        resolve();
      });
    });
  }
  /** Lets the write in flight finish. */
  release(): void {
    this.waiting.shift()?.();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('StateWriter', () => {
  it('resolves a save only once the port has written it', async () => {
    const port = new SlowPort();
    const w = new StateWriter(port);
    let done = false;
    const saving = w.save(state(1)).then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    port.release();
    await saving;
    expect(port.saved).toEqual([1]);
  });

  it('collapses writes behind queued during a write into the newest one', async () => {
    const port = new SlowPort();
    const w = new StateWriter(port);
    w.saveLater(state(1));
    await tick();
    w.saveLater(state(2));
    w.saveLater(state(3));
    const durable = w.save(state(4));
    port.release();
    await tick();
    port.release();
    await durable;
    expect(port.saved).toEqual([1, 4]);
  });

  it('writes nothing for a state identical to what is on disk', async () => {
    const port = new SlowPort();
    const w = new StateWriter(port);
    w.loaded(state(2));
    await w.save(state(2));
    w.saveLater(state(2));
    await w.flush();
    expect(port.saved).toEqual([]);
  });

  it('keeps a failed write behind and writes it again at the next save, which throws if that fails too', async () => {
    const port = new SlowPort();
    const w = new StateWriter(port);
    port.fail = true;
    w.saveLater(state(1));
    port.release();
    await tick();
    expect(w.failed).toBeInstanceOf(Error);
    const again = w.flush();
    port.release();
    await expect(again).rejects.toThrow('disk full');
    expect(w.failed).toBeInstanceOf(Error);
    port.fail = false;
    const last = w.flush();
    port.release();
    await last;
    expect(port.saved).toEqual([1]);
    expect(w.failed).toBeUndefined();
  });
});
