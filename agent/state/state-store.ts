/**
 * What this host registered and which addresses it used, kept on disk so that a restart,
 * a crash or a changed address never leaves a target nobody owns. Written atomically
 * (temp file, fsync, rename, fsync of the directory): a SIGKILL at any moment leaves
 * either the old or the new file. A file that cannot be used (cut short by a power loss on
 * a card that ignored the fsync, garbage, a wrong version, unreadable) is moved aside with
 * the time in its name and the agent starts over; a write that fails (a full disk, a
 * read-only directory) leaves no temp file behind and throws, so the caller can keep the
 * previous file and try again later.
 */
import { access, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EMPTY_STATE, type AgentState, type StatePort, type StateRecovery } from '../core/state.ts';
import { OperationError, errorMessage } from '../errors.ts';
import { asideName, isTransientReadError, parseStateText } from './state-file.ts';

export const STATE_FILE = 'state.json';

/** What the state file holds now, without changing anything (for `check` and `status`). */
export type StateFileStatus =
  | { readonly kind: 'missing' }
  | { readonly kind: 'ok'; readonly state: AgentState }
  | { readonly kind: 'unusable'; readonly problem: string; readonly salvaged: AgentState['targets'] };

export interface StateStoreOptions {
  /** Move a file that cannot be used aside (the daemon, `deregister`); read-only commands leave it in place. Default true. */
  readonly moveAside?: boolean;
  readonly now?: () => Date;
}

/** Temp files this directory's writers leave when they die mid-write: the state's, `status`'s probe, the mapping copy's. */
const TEMP = /^(?:state\.json|mapping\.last-good\.json)\.([0-9]+)(?:\.[0-9a-z]+)?\.tmp$/;

/** Reads and writes the state file in one directory. */
export class StateStore implements StatePort {
  readonly path: string;
  recovery?: StateRecovery;
  private saves = 0;

  constructor(
    readonly dir: string,
    private readonly options: StateStoreOptions = {},
  ) {
    this.path = join(dir, STATE_FILE);
  }

  /** What the file holds. Throws an OperationError only for a passing condition (no file descriptors, no memory). */
  async inspect(): Promise<StateFileStatus> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { kind: 'missing' };
      if (isTransientReadError(code)) throw new OperationError('reading state', this.path, code ?? 'Error', 'transient', errorMessage(err), { cause: err });
      return { kind: 'unusable', problem: `cannot be read (${errorMessage(err)})`, salvaged: [] };
    }
    const parsed = parseStateText(text);
    return parsed.ok ? { kind: 'ok', state: parsed.state } : { kind: 'unusable', problem: parsed.problem, salvaged: parsed.salvaged };
  }

  /** The saved state; empty when there is none yet, or when it cannot be used (then `recovery` says why and where it went). */
  async load(): Promise<AgentState> {
    await this.removeStaleTemps();
    const found = await this.inspect();
    if (found.kind === 'missing') return EMPTY_STATE;
    if (found.kind === 'ok') return found.state;
    let movedTo: string | undefined;
    let moveProblem: string | undefined;
    if (this.options.moveAside !== false) {
      try {
        movedTo = await this.moveAside();
      } catch (err) {
        moveProblem = errorMessage(err);
      }
    }
    this.recovery = { problem: `state ${this.path} ${found.problem}`, ...(movedTo !== undefined ? { movedTo } : {}), ...(moveProblem !== undefined ? { moveProblem } : {}), salvaged: found.salvaged };
    return EMPTY_STATE;
  }

  /** Replaces the state file atomically and durably; on failure nothing of the attempt is left. */
  async save(state: AgentState): Promise<void> {
    await replaceFile(this.dir, STATE_FILE, `${JSON.stringify(state, null, 2)}\n`, `${STATE_FILE}.${process.pid}.${++this.saves}.tmp`);
  }

  /** Moves the current file aside under a name with the time; returns that name. */
  private async moveAside(): Promise<string> {
    const base = asideName(this.path, (this.options.now ?? (() => new Date()))());
    let target = base;
    for (let n = 1; await exists(target); n++) target = `${base}.${n}`;
    await rename(this.path, target);
    await this.syncDir();
    return target;
  }

  /** Temp files of writers that died mid-write (SIGKILL, power loss) take space a full disk needs. */
  private async removeStaleTemps(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const pid = Number(TEMP.exec(name)?.[1]);
      if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
      await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }

  private async syncDir(): Promise<void> {
    await syncDir(this.dir);
  }
}

/**
 * Replaces `dir/name` atomically and durably: a temp file (`tmpName`, mode 0600) written and
 * synced, renamed over it, the directory synced. On failure nothing of the attempt is left:
 * a full disk must not fill up further with half-written temp files, one per retry.
 */
export async function replaceFile(dir: string, name: string, text: string, tmpName: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, tmpName);
  try {
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(dir, name));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Files the store moved aside, oldest first (for `status`). */
export async function asideFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`${STATE_FILE}.corrupt-`)).sort().map((n) => join(dir, n));
}

/**
 * Whether a state file of the current size could be written now: a write of as many bytes
 * to a temp file, synced and removed. The daemon's own failing writes cannot be seen from
 * another process, so `status` asks the disk the same question.
 */
export async function probeWrite(dir: string): Promise<string | undefined> {
  const size = Math.max(1024, (await stat(join(dir, STATE_FILE)).catch(() => undefined))?.size ?? 0);
  const tmp = join(dir, `${STATE_FILE}.${process.pid}.probe.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(Buffer.alloc(size, 0x20));
      await file.sync();
    } finally {
      await file.close();
    }
    return undefined;
  } catch (err) {
    return errorMessage(err);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

const exists = (path: string) => access(path).then(() => true, () => false);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
