/**
 * Commands and long-running children of e2e:vpn: `command()` runs one to its end and throws
 * with its stderr; `startChild()` starts a daemon-like process (OpenVPN, the VPC endpoint),
 * keeps its output for failure messages and lets the run wait for a line of it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { sleep } from '../../test/support/wait.ts';

const execFileAsync = promisify(execFile);

/** Runs `file args` and returns its stdout; throws naming the command and its stderr. */
export async function command(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    return (await execFileAsync(file, [...args], { ...options, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string };
    const detail = (e.stderr ?? '').trim() || (e.stdout ?? '').trim() || String(error);
    throw new Error(`${file} ${args.join(' ')}: ${detail}`, { cause: error });
  }
}

/** `ip ARGS`, in namespace `netns` when given. */
export function ip(netns: string | undefined, ...args: string[]): Promise<string> {
  return command('ip', netns === undefined ? args : ['-n', netns, ...args]);
}

/** The argv that runs `file args` in a network namespace (`ip netns exec`), or as is in the root one. */
export function inNetns(netns: string | undefined, file: string, args: readonly string[]): { file: string; args: string[] } {
  return netns === undefined ? { file, args: [...args] } : { file: 'ip', args: ['netns', 'exec', netns, file, ...args] };
}

/** A started child process. */
export interface Child {
  readonly name: string;
  readonly pid: number | undefined;
  /** Everything it wrote so far (stdout and stderr interleaved). */
  output(): string;
  /** The last lines of its output, for failure messages. */
  tail(lines?: number): string;
  /** Waits for a line of its output matching `pattern`, counting lines already written. */
  waitForLine(pattern: RegExp, description: string, timeoutMs: number): Promise<string>;
  readonly exited: Promise<number | null>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `file args` with its output kept; it does not outlive a stop(). */
export function startChild(name: string, file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  const child: ChildProcess = spawn(file, [...args], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const append = (chunk: Buffer) => {
    text += chunk.toString();
    if (text.length > 1_000_000) text = text.slice(-500_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      text += `\n${name}: ${error.message}\n`;
      code = null;
      resolve(null);
    });
    child.once('close', (c) => {
      code = c;
      resolve(c);
    });
  });
  const tail = (lines = 30) => text.trim().split('\n').slice(-lines).join('\n');
  return {
    name,
    pid: child.pid,
    output: () => text,
    tail,
    exited,
    running: () => code === undefined,
    async waitForLine(pattern, description, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = text.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (code !== undefined) throw new Error(`${name} exited (${String(code)}) before ${description}:\n${tail()}`);
        if (Date.now() > deadline) throw new Error(`${name}: no ${description} within ${timeoutMs} ms:\n${tail()}`);
        await sleep(50);
      }
    },
    async stop(graceMs = 5_000) {
      if (code !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
