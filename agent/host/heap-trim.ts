/**
 * Gives the heap back to the host after a busy spell. Under a burst or a churn of containers V8
 * grows its old generation, and when the work stops it keeps those pages: measured on the bundle,
 * +2.3 MiB of heap committed (+3 MiB resident) after 300 container starts and stops, still there
 * after 120 s idle (its memory reducer did not run), while the live objects grew by 0.3 MiB. A
 * regular full collection frees the objects but keeps the pages; a last-resort one (what V8 does
 * on a low-memory notification: repeated full collections that compact and release pooled pages)
 * returns them: resident memory back to where it was before the churn (measured: -0.2 MiB after
 * 900). So once no pass has run for `quietMs` and resident memory has grown by `minGrowthBytes`
 * since the last trim, this runs one. Resident, not V8's committed heap: the collection leaves
 * freed pages committed but gives them back (madvise), and work after it faults them in again
 * without the committed size moving. It costs a few ms of CPU, only when the host has been busy
 * and is now quiet; periodic passes that allocate little never reach the threshold.
 *
 * The collector is V8's `gc` function, which exists only with `--expose-gc` (baked into the single
 * executables' flags, scripts/build-binaries.mjs); without it nothing is trimmed.
 */
export const HEAP_TRIM_QUIET_MS = 5_000;
export const HEAP_TRIM_MIN_GROWTH_BYTES = 1024 * 1024;

export interface HeapTrimOptions {
  /** Runs the last-resort collection. */
  readonly collect: () => void;
  /** Resident bytes now (process.memoryUsage.rss()). */
  readonly residentBytes?: () => number;
  readonly quietMs?: number;
  readonly minGrowthBytes?: number;
  /** Told after each trim: resident bytes before and after, and how long it took. */
  readonly onTrim?: (trim: { beforeBytes: number; afterBytes: number; ms: number }) => void;
}

export class HeapTrim {
  private timer: NodeJS.Timeout | undefined;
  /** Resident bytes after the last trim; 0 before the first, so the first quiet spell after start-up trims what loading left. */
  private baseline = 0;
  private readonly options: HeapTrimOptions;
  private readonly residentBytes: () => number;
  private readonly quietMs: number;
  private readonly minGrowthBytes: number;

  constructor(options: HeapTrimOptions) {
    this.options = options;
    this.residentBytes = options.residentBytes ?? (() => process.memoryUsage.rss());
    this.quietMs = options.quietMs ?? HEAP_TRIM_QUIET_MS;
    this.minGrowthBytes = options.minGrowthBytes ?? HEAP_TRIM_MIN_GROWTH_BYTES;
  }

  /** Work happened (a pass ran): the quiet spell starts over. */
  activity(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.quiet(), this.quietMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private quiet(): void {
    this.timer = undefined;
    const beforeBytes = this.residentBytes();
    if (beforeBytes - this.baseline < this.minGrowthBytes) return;
    const since = performance.now();
    this.options.collect();
    this.baseline = this.residentBytes();
    this.options.onTrim?.({ beforeBytes, afterBytes: this.baseline, ms: performance.now() - since });
  }
}

/** V8's last-resort collection when the process was started with --expose-gc, else undefined. */
export function lastResortCollector(): (() => void) | undefined {
  const gc = (globalThis as { gc?: (options?: object) => unknown }).gc;
  if (typeof gc !== 'function') return undefined;
  return () => void gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
