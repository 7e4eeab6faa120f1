/**
 * The changes the running agent's policies hold for now (which, why, until when), published for
 * `status`, which runs in a process of its own: `held.json` in the state directory. The agent
 * writes it when the held changes change, not on every pass, and without fsync: it is a report,
 * not a record (lost at a crash, it is written again at the next pass that holds something). It
 * is removed when the agent stops, and `status` believes it only while the process that wrote
 * it runs.
 */
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';
import { replaceFile } from './state-store.ts';

export const HELD_FILE = 'held.json';

/** One held change, as `status` shows it. */
export interface HeldEntry {
  readonly targetGroupArn: string;
  readonly change: 'register' | 'deregister';
  /** `id:port`. */
  readonly target: string;
  readonly why: string;
  /** When it is sent at the latest (ISO 8601); absent: once what holds it changes. */
  readonly until?: string;
}

/** What the file holds: who wrote it, when, and the changes held then. */
export interface HeldReport {
  readonly pid: number;
  readonly at: string;
  readonly held: readonly HeldEntry[];
}

/** The agent's side: writes the held changes when they change, one write at a time. */
export class HeldFile {
  private last: string | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  /** The changes held after a pass: written when they differ from the last ones written. */
  publish(held: readonly HeldEntry[]): void {
    const key = JSON.stringify(held);
    if (key === this.last) return;
    this.last = key;
    const report: HeldReport = { pid: process.pid, at: new Date(this.now()).toISOString(), held };
    this.writing = this.writing
      .then(() => replaceFile(this.dir, HELD_FILE, `${JSON.stringify(report, null, 2)}\n`, `${HELD_FILE}.${process.pid}.tmp`, { durable: false }))
      .catch((err: unknown) => {
        // Written again when the held changes next change; `status` shows the time of the one it reads.
        this.last = undefined;
        this.log.debug(`cannot write ${join(this.dir, HELD_FILE)}: ${errorMessage(err)}`, { event: 'held-file-failed', error: errorMessage(err) });
      });
  }

  /** The agent stops: nothing it held is held any more. */
  async remove(): Promise<void> {
    await this.writing;
    await unlink(join(this.dir, HELD_FILE)).catch(() => undefined);
  }

  /** Resolves once the last publish is on disk (or failed). */
  settled(): Promise<void> {
    return this.writing;
  }
}

/** Whether a process with this pid runs (EPERM: it does, under another user). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `status`'s side: the held changes the running agent published. Undefined when no agent runs
 * (no file, or the one that wrote it is gone); `problem` when the file cannot be read.
 */
export async function readHeld(dir: string, runs: (pid: number) => boolean = processRuns): Promise<{ report?: HeldReport; problem?: string }> {
  let text: string;
  try {
    text = await readFile(join(dir, HELD_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { problem: `cannot read ${join(dir, HELD_FILE)}: ${errorMessage(err)}` };
  }
  const report = parseHeld(text);
  if (report === undefined) return { problem: `${join(dir, HELD_FILE)} is not a held-changes report; the agent writes it again when its held changes change` };
  return runs(report.pid) ? { report } : {};
}

function parseHeld(text: string): HeldReport | undefined {
  try {
    const v = JSON.parse(text) as Partial<HeldReport>;
    if (typeof v.pid !== 'number' || typeof v.at !== 'string' || !Array.isArray(v.held)) return undefined;
    const ok = v.held.every((h: Partial<HeldEntry>) => typeof h.targetGroupArn === 'string' && (h.change === 'register' || h.change === 'deregister') && typeof h.target === 'string' && typeof h.why === 'string' && (h.until === undefined || typeof h.until === 'string'));
    return ok ? (v as HeldReport) : undefined;
  } catch {
    return undefined;
  }
}
