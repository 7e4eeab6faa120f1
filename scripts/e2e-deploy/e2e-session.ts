/**
 * What the end-to-end scripts (`npm run e2e:deploy`, `npm run e2e:vpn`) share around their
 * run: a Docker engine (the one at DOCKER_HOST, else a private dockerd), a Teardown that runs
 * at the end or on the first SIGINT/SIGTERM/SIGHUP (a second one exits at once), and the exit
 * code: the body's, 2 for an error, 128 + the signal's number after a signal.
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import type Docker from 'dockerode';
import { connectDocker, startDockerEngine, type DockerEngine } from '../../test/support/docker-engine.ts';
import { Teardown } from './teardown.ts';

/** What the body of a script gets. */
export interface E2eSession {
  readonly docker: Docker;
  readonly dockerHost: string;
  readonly teardown: Teardown;
  /** Aborted on the first signal. */
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/** Runs after the teardown when a signal stopped the run (e.g. to check what is left). */
export type AfterSignalCleanup = (session: E2eSession) => Promise<void>;

/**
 * Starts the engine and the signal handling, runs `body`, tears down and stops a private
 * engine. After a signal the handler cleans up and exits the process; the body's rejection
 * is then not news, and the promise stays pending until the exit.
 */
export async function withE2eSession(name: string, body: (session: E2eSession) => Promise<number>, afterSignal?: AfterSignalCleanup): Promise<number> {
  const log = (line: string) => console.error(`[${name}] ${line}`);
  const teardown = new Teardown();
  const abort = new AbortController();
  let signalled = false;
  // A signal during the engine's start waits for it, so that a private dockerd is stopped too.
  const starting: Promise<DockerEngine> = startDockerEngine({ log });
  const sessionOf = (engine: DockerEngine): E2eSession => ({ docker: connectDocker(engine.dockerHost), dockerHost: engine.dockerHost, teardown, signal: abort.signal, log });
  const onSignal = (signal: NodeJS.Signals) => {
    const code = 128 + (os.constants.signals[signal] ?? 1);
    if (signalled) {
      log(`${signal} again: exiting without waiting for the cleanup`);
      process.exit(code);
    }
    signalled = true;
    log(`${signal}: stopping and cleaning up`);
    abort.abort();
    void (async () => {
      for (const problem of await teardown.run()) log(`cleanup: ${problem}`);
      const engine = await starting.catch(() => undefined);
      if (engine && afterSignal) await afterSignal(sessionOf(engine)).catch((error: unknown) => log(`cleanup: ${String(error)}`));
      await engine?.stop().catch((error: unknown) => log(`cleanup: engine: ${String(error)}`));
      process.exit(code);
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  const engine = await starting;
  try {
    process.env.DOCKER_HOST = engine.dockerHost;
    return await body(sessionOf(engine));
  } catch (error) {
    if (signalled) return new Promise<number>(() => {});
    throw error;
  } finally {
    if (!signalled) {
      for (const problem of await teardown.run()) log(`cleanup: ${problem}`);
      await engine.stop();
    }
  }
}

/** Sets the exit code from `main`: its result, or 2 with the error printed. */
export function exitWhenDone(name: string, main: Promise<number>): void {
  main.then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = 2;
    },
  );
}

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** `--name VALUE` / `--name=VALUE` flags (of `known` names only), `--help`/`-h`, and a `--` that npm passes on. */
export function readFlags(argv: readonly string[], known: readonly string[]): { values: Map<string, string>; help: boolean } {
  const values = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !known.includes(m[1] as string)) throw new UsageError(`unknown argument ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
    values.set(m[1] as string, value);
  }
  return { values, help };
}

/** Parses the command line: the options, or the exit code to return (0 after --help, 2 after a UsageError, printed with the usage). */
export function parseCommandLine<T extends { readonly help: boolean }>(name: string, usage: string, parse: () => T): T | number {
  let parsed: T;
  try {
    parsed = parse();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${name}: ${error.message}\n${usage}`);
    return 2;
  }
  if (!parsed.help) return parsed;
  console.log(usage);
  return 0;
}

/** Writes `report` as JSON to `path` when one was given (--json). */
export function writeJsonReport(path: string | undefined, report: unknown, log: (line: string) => void): void {
  if (path === undefined) return;
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  log(`report written to ${path}`);
}
