/**
 * Node/V8 flags baked into the executables (sea-config execArgv); `npm run build:binaries -- --exec-argv=...` overrides them;
 * `npm run bench:sdk-and-note` runs with them too.
 * The agent's JavaScript runs briefly per event and idles in between, so memory matters more
 * than peak speed: no optimizing compilers (TurboFan, Maglev; the Sparkplug baseline stays),
 * a 1 MiB young generation, V8's size-first heuristics and one V8 worker thread. Measured idle
 * with 20 containers (cold page cache, x64): 74 -> 60 MiB resident, of which the anonymous part
 * 27 -> 18 MiB; latency ratios to the bench's probe unchanged within the noise (README, Footprint
 * and speed). Not --lite-mode or --jitless: they take WebAssembly away, and Node's fetch (the
 * task metadata endpoint) needs it. --expose-gc gives the agent V8's collector, to give the heap's
 * pages back once a busy spell is over (agent/host/heap-trim.ts).
 */
export const EXEC_ARGV = ['--no-opt', '--no-maglev', '--max-semi-space-size=1', '--optimize-for-size', '--v8-pool-size=1', '--expose-gc'];
