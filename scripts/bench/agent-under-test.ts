/** Which agent the bench runs (the built single executable, else the bundle) and what it weighs. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_BUNDLE, AgentProcess, REPO_ROOT, ensureAgentBundle, type AgentProcessOptions } from '../../test/support/agent-process.ts';
import { round1 } from './stats.ts';

const BIN_DIR = join(REPO_ROOT, 'dist', 'bin');
export const X64_EXECUTABLE = join(BIN_DIR, 'ecs-anywhere-lb-agent-linux-x64');

export interface AgentUnderTest {
  /** 'executable' (a single executable) or 'bundle' (node + dist/ecs-anywhere-lb-agent.cjs). */
  readonly kind: 'executable' | 'bundle';
  readonly path: string;
  /** The commit it was built from, and a warning when that is not HEAD. */
  readonly commit?: string;
  readonly warning?: string;
  readonly nodeFlags: readonly string[];
  start(env: Record<string, string | undefined>): AgentProcess;
}

function headCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** `choice`: a path, 'bundle', or undefined for the built x64 executable when there is one. */
export function agentUnderTest(choice: string | undefined, nodeFlags: readonly string[]): AgentUnderTest {
  const useExecutable = choice === undefined ? existsSync(X64_EXECUTABLE) && process.platform === 'linux' && process.arch === 'x64' : choice !== 'bundle';
  if (!useExecutable) {
    const path = ensureAgentBundle();
    return {
      kind: 'bundle', path, nodeFlags,
      start: (env) => new AgentProcess({ executable: process.execPath, args: [...nodeFlags, path, 'run'], env }),
    };
  }
  const path = choice ?? X64_EXECUTABLE;
  if (!existsSync(path)) throw new Error(`--executable ${path} does not exist`);
  const info = join(BIN_DIR, 'build-info.json');
  const commit = path === X64_EXECUTABLE && existsSync(info) ? (JSON.parse(readFileSync(info, 'utf8')) as { commit?: string }).commit : undefined;
  const head = headCommit();
  const warning = commit && head && commit !== head ? `${path} was built from ${commit}, HEAD is ${head}: run \`npm run build:binaries\` to measure this checkout` : undefined;
  const options: AgentProcessOptions = { executable: path, args: ['run'] };
  return {
    kind: 'executable', path, nodeFlags: [],
    ...(commit ? { commit } : {}),
    ...(warning ? { warning } : {}),
    start: (env) => {
      dropFromPageCache(path);
      return new AgentProcess({ ...options, env });
    },
  };
}

/**
 * Evicts a file's pages from the page cache, as after a reboot (systemd starts the agent at
 * boot). Resident memory counts the executable's mapped file pages, and a file just written by
 * the build is wholly cached: every page fault then maps its cached neighbours too (fault-around),
 * about 19 MiB more than a cold start of the same binary (measured). Best effort: `dd` of coreutils.
 */
function dropFromPageCache(path: string): void {
  spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
}

/** Bytes and MiB of the bundle and of each built executable (from dist/bin/build-info.json). */
export function artifactSizes(): Record<string, { bytes: number; mib: number; gzipBytes?: number }> {
  const sizes: Record<string, { bytes: number; mib: number; gzipBytes?: number }> = {};
  const mib = (b: number) => round1(b / 1024 / 1024);
  if (existsSync(AGENT_BUNDLE)) sizes.bundle = { bytes: statSync(AGENT_BUNDLE).size, mib: mib(statSync(AGENT_BUNDLE).size) };
  const info = join(BIN_DIR, 'build-info.json');
  if (existsSync(info)) {
    const built = JSON.parse(readFileSync(info, 'utf8')) as { sizes?: Record<string, { binary: number; binaryGzip: number }> };
    for (const [target, s] of Object.entries(built.sizes ?? {})) sizes[target] = { bytes: s.binary, mib: mib(s.binary), gzipBytes: s.binaryGzip };
  }
  return sizes;
}
