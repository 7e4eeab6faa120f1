/**
 * Notices when the host address changes: the kernel's own address and link notifications
 * (`ip -o monitor address link` from iproute2, a child process restarted with backoff when it
 * dies), so a VPN reconnect with a new tunnel address is acted on within milliseconds; and a
 * poll every --address-check-interval as the fallback where `ip` is missing or the monitor is
 * down. Either way the address source is asked again and a change is reported once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressChoice, AddressSource } from '../core/address.ts';
import { backoffDelay } from '../core/backoff.ts';
import { errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';

/** The monitor command: one line per address or link change, in every namespace the agent runs in. */
export const MONITOR_COMMAND = ['ip', '-o', 'monitor', 'address', 'link'] as const;
/** Restart backoff of the monitor (full jitter); a monitor that ran this long before dying starts over. */
export const MONITOR_BACKOFF = { baseMs: 1_000, capMs: 60_000, stableMs: 30_000 } as const;

export interface AddressWatcherOptions {
  readonly addresses: AddressSource;
  readonly pollIntervalMs: number;
  readonly log: Log;
  /** The address (or why there is none) changed. */
  readonly onChange: (choice: AddressChoice) => void;
  /** The monitor's command line (tests and hosts without iproute2 pass another, or none). */
  readonly monitor?: readonly string[] | undefined;
}

/** What a choice is compared by: the address, or the reason there is none. */
const identity = (c: AddressChoice) => c.address ?? `none:${c.problem ?? ''}`;

/** Watches the address; `start` takes the first look (the baseline a change is measured against). */
export class AddressWatcher {
  private last: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private child: ChildProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** A check is running; another asked meanwhile runs once after it. */
  private checking: Promise<void> | undefined;
  private again = false;

  constructor(private readonly options: AddressWatcherOptions) {}

  async start(): Promise<void> {
    this.last = await this.options.addresses.current().then(identity, () => undefined);
    const monitor = this.options.monitor === undefined ? MONITOR_COMMAND : this.options.monitor;
    if (monitor.length > 0) this.spawnMonitor(monitor);
    this.timer = setInterval(() => this.check(), this.options.pollIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }

  /** Whether the monitor process runs now (else only the poll notices changes). */
  get monitoring(): boolean {
    return this.child !== undefined;
  }

  /** Asks the address source again; reports a change. Checks never overlap; asks during one coalesce. */
  check(): void {
    if (this.stopped) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = this.options.addresses
      .current()
      .then(
        (choice) => {
          const now = identity(choice);
          if (now === this.last) return;
          this.last = now;
          this.options.onChange(choice);
        },
        (err: unknown) => this.options.log.debug(`address check failed: ${errorMessage(err)}`),
      )
      .finally(() => {
        this.checking = undefined;
        if (this.again) {
          this.again = false;
          this.check();
        }
      });
  }

  private spawnMonitor(command: readonly string[]): void {
    const [file, ...args] = command as [string, ...string[]];
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(file, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      this.monitorEnded(command, startedAt, errorMessage(err));
      return;
    }
    this.child = child;
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      if (this.child === child) this.child = undefined;
      this.monitorEnded(command, startedAt, why);
    };
    child.stdout?.on('data', () => this.check());
    child.on('error', (err) => end(errorMessage(err)));
    child.on('exit', (code, signal) => end(signal !== null ? `killed by ${signal}` : `exited with status ${String(code)}`));
    child.on('spawn', () => this.options.log.debug(`watching address changes with \`${command.join(' ')}\``, { event: 'address-monitor', pid: child.pid }));
  }

  private monitorEnded(command: readonly string[], startedAt: number, why: string): void {
    if (this.stopped) return;
    if (Date.now() - startedAt >= MONITOR_BACKOFF.stableMs) this.failures = 0;
    const delay = backoffDelay(this.failures++, MONITOR_BACKOFF.baseMs, MONITOR_BACKOFF.capMs);
    // The first failure is a warning (address changes are then noticed by the poll only); repeats are debug.
    this.options.log[this.failures === 1 ? 'warn' : 'debug'](`address monitor \`${command.join(' ')}\` stopped (${why}); polling every ${this.options.pollIntervalMs} ms, restarting it in ${delay} ms`, {
      event: 'address-monitor-stopped', reason: why, retryInMs: delay, attempt: this.failures,
    });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      // Something may have changed while nothing watched.
      this.check();
      this.spawnMonitor(command);
    }, delay);
    this.restartTimer.unref();
  }
}
