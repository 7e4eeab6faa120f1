// Runs the real agent (the esbuild bundle, the same code the executables embed) as a
// child process against the test Docker engine and a local ELBv2 endpoint, and reads
// its JSON log lines so tests can wait for and assert on what it said.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from './wait.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const AGENT_BUNDLE = join(REPO_ROOT, 'dist', 'ecs-anywhere-lb-agent.cjs');

/** One parsed log line of the agent. */
export interface AgentLogLine {
  level: string;
  message: string;
  event?: string;
  [field: string]: unknown;
}

/** The newest modification time of any file under `dir` (ms): what a build made from it must be newer than. */
export function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ecs-anywhere-lb-agent.cjs when it is missing or older than agent/. */
export function ensureAgentBundle(): string {
  const stale = !existsSync(AGENT_BUNDLE) || statSync(AGENT_BUNDLE).mtimeMs < newestMtime(join(REPO_ROOT, 'agent'));
  if (stale) execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'bundle.mjs')], { cwd: REPO_ROOT, stdio: 'pipe' });
  return AGENT_BUNDLE;
}

/** Fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface AgentProcessOptions {
  /** Command and flags, e.g. ['run'] or ['status', '--json']. */
  args?: string[];
  /** Environment on top of a clean base (PATH, HOME, DOCKER_HOST). */
  env?: Record<string, string | undefined>;
  /** Executable to run instead of `node <bundle>` (e.g. a single-executable binary). */
  executable?: string;
}

/** A running agent process. */
export class AgentProcess {
  readonly logs: AgentLogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(options: AgentProcessOptions = {}) {
    const command = options.executable ?? process.execPath;
    const args = options.executable ? (options.args ?? ['run']) : [ensureAgentBundle(), ...(options.args ?? ['run'])];
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_HOST: process.env.DOCKER_HOST, ...options.env })) {
      if (v !== undefined) env[k] = v;
    }
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.stdout += text;
      buffer += text;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as AgentLogLine);
        } catch {
          // not a JSON log line (command output): kept in stdout
        }
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    // 'close' (not 'exit'): every byte of stdout and stderr has been read by then.
    this.exited = new Promise((resolveExit) => this.child.on('close', (code) => resolveExit(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Log lines matching a predicate. */
  find(predicate: (line: AgentLogLine) => boolean): AgentLogLine[] {
    return this.logs.filter(predicate);
  }

  /** Waits for a log line matching the predicate (searching lines already seen too). */
  async waitForLog(predicate: (line: AgentLogLine) => boolean, description: string, timeoutMs = 20_000): Promise<AgentLogLine> {
    return waitFor(() => this.logs.find(predicate), { description: `agent log: ${description}\n--- agent output ---\n${this.tail()}`, timeoutMs, intervalMs: 50 });
  }

  /** Waits for the first reconcile to finish. */
  ready(timeoutMs = 20_000): Promise<AgentLogLine> {
    return this.waitForLog((l) => l.event === 'ready', 'first reconcile done', timeoutMs);
  }

  /** The last lines of output, for failure messages. */
  tail(lines = 40): string {
    return `${this.stdout}\n${this.stderr}`.trim().split('\n').slice(-lines).join('\n');
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs a one-shot agent command (status, check, deregister) and returns its outcome. */
export async function runAgentCommand(options: AgentProcessOptions): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const agent = new AgentProcess(options);
  const code = await agent.exited;
  return { code, stdout: agent.stdout, stderr: agent.stderr };
}
