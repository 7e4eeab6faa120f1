/**
 * What this host registered and which addresses it used, kept on disk so that a restart,
 * a crash or a changed address never leaves a target nobody owns. Written atomically
 * (temp file, fsync, rename, fsync of the directory): a SIGKILL at any moment leaves
 * either the old or the new file.
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE_VERSION, EMPTY_STATE, type AgentState, type StatePort } from '../core/state.ts';
import { errorMessage } from '../errors.ts';

export const STATE_FILE = 'state.json';

/** Reads and writes the state file in one directory. */
export class StateStore implements StatePort {
  readonly path: string;
  private saves = 0;

  constructor(readonly dir: string) {
    this.path = join(dir, STATE_FILE);
  }

  /** The saved state; empty when there is none yet. Throws on an unreadable or foreign file. */
  async load(): Promise<AgentState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_STATE;
      throw new Error(`reading state ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
    let json: Partial<AgentState>;
    try {
      json = JSON.parse(text) as Partial<AgentState>;
    } catch (err) {
      throw new Error(`state ${this.path} is not valid JSON (${errorMessage(err)}); move it aside to start over`, { cause: err });
    }
    if (typeof json !== 'object' || json === null) throw new Error(`state ${this.path} is not a JSON object; move it aside to start over`);
    if (json.version !== STATE_VERSION) throw new Error(`state ${this.path} has version ${String(json.version)}, this agent reads ${STATE_VERSION}`);
    return { version: STATE_VERSION, addresses: json.addresses ?? [], targets: json.targets ?? [] };
  }

  /** Replaces the state file atomically and durably. */
  async save(state: AgentState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.${++this.saves}.tmp`;
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
