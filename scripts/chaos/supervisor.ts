/**
 * Runs the agent as a separate process the way its systemd unit does (Restart=always,
 * RestartSec=2, no restart after exit status 78), tells the exits the soak caused from those
 * it did not, and samples the agent's RSS.
 */
import { readFileSync } from 'node:fs';
import { AgentProcess } from '../../test/support/agent-process.ts';

/** systemd/ecs-anywhere-lb-agent.service: RestartSec=2, RestartPreventExitStatus=78. */
export const RESTART_DELAY_MS = 2_000;
export const EXIT_CONFIG = 78;

/** An exit the soak did not cause. */
export interface UninjectedExit {
  readonly atMs: number;
  readonly code: number | null;
  readonly tail: string;
}

export class AgentSupervisor {
  private agent: AgentProcess | undefined;
  private startedAt = 0;
  private expecting = false;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  starts = 0;
  readonly uninjected: UninjectedExit[] = [];
  /** Every agent run so far, oldest first (their output, for --agent-log). */
  readonly runs: AgentProcess[] = [];

  constructor(
    private readonly spawnAgent: () => AgentProcess,
    private readonly now: () => number,
    private readonly onUninjectedExit: (exit: UninjectedExit) => void,
  ) {}

  /** The running agent, if any. */
  get current(): AgentProcess | undefined {
    return this.agent;
  }

  /** Starts the agent (a no-op while one runs). */
  start(): AgentProcess {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.agent) return this.agent;
    this.stopped = false;
    const agent = this.spawnAgent();
    this.agent = agent;
    this.runs.push(agent);
    this.startedAt = this.now();
    this.starts += 1;
    void agent.exited.then((code) => {
      if (this.agent !== agent) return;
      this.agent = undefined;
      if (this.expecting || this.stopped) return;
      const exit = { atMs: this.now(), code, tail: agent.tail(20) };
      this.uninjected.push(exit);
      this.onUninjectedExit(exit);
      if (code !== EXIT_CONFIG) this.restartTimer = setTimeout(() => this.start(), RESTART_DELAY_MS);
    });
    return agent;
  }

  /** Sends a signal as the soak's own act and waits for the exit; returns the exit code. */
  async kill(signal: NodeJS.Signals): Promise<number | null> {
    const agent = this.agent;
    if (!agent) return null;
    this.expecting = true;
    try {
      return await agent.stop(signal);
    } finally {
      this.agent = undefined;
      this.expecting = false;
    }
  }

  /** Stops the agent for good (end of the run). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.kill('SIGKILL');
  }

  /** RSS of the running agent in bytes and its age, or undefined. */
  rss(): { rssBytes: number; ageMs: number } | undefined {
    const pid = this.agent?.pid;
    if (pid === undefined) return undefined;
    try {
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? { rssBytes: Number(match[1]) * 1024, ageMs: this.now() - this.startedAt } : undefined;
    } catch {
      return undefined;
    }
  }
}
