/**
 * What this host registered and which addresses it used, kept on disk so that a restart,
 * a crash or a changed address never leaves a target nobody owns. Two files:
 * - `state.json`, the saved state, replaced atomically (temp file, fsync, rename, fsync of
 *   the directory): a SIGKILL at any moment leaves either the old or the new file.
 * - `state.journal`, the notes made ahead of a call (a target before its RegisterTargets):
 *   one line each, appended with O_DSYNC, so a note costs one write that returns once it is
 *   on disk instead of the four steps of a save. Each line has a number and the saved state
 *   names the last one it took in, so a load takes in only the later lines (a saved state
 *   that dropped a record is not undone by an older note); the journal is cut back once it
 *   outgrows COMPACT_BYTES. A line cut short (the write never returned, so its call was
 *   never made) is skipped and said once.
 * A state file that cannot be used (cut short by a power loss on a card that ignored the
 * fsync, garbage, a wrong version, unreadable) is moved aside with the time in its name and
 * the agent starts over; a write that fails (a full disk, a read-only directory) leaves no
 * temp file behind and throws, so the caller can keep the previous file and try again later.
 */
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { EMPTY_STATE, withNotes, type AgentState, type StateNote, type StatePort, type StateRecovery } from '../core/state.ts';
import { OperationError, errorMessage } from '../errors.ts';
import { asideName, isTransientReadError, journalLine, journalSeqOf, parseJournalText, parseStateText, type JournalEntry } from './state-file.ts';

export const STATE_FILE = 'state.json';
export const JOURNAL_FILE = 'state.journal';
/** A journal longer than this is cut back after the next save (every line in it is older than the saved state by then). */
export const COMPACT_BYTES = 64 * 1024;

/** What the journal holds: its entries, the lines that are none, its size; or why it cannot be read. */
interface JournalRead {
  readonly entries: readonly JournalEntry[];
  readonly skipped: number;
  readonly bytes: number;
  readonly problem?: string;
}

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

/** Temp files this directory's writers leave when they die mid-write: the state's, `status`'s probe, the mapping copy's, the held report's. */
const TEMP = /^(?:state\.json|mapping\.last-good\.json|held\.json)\.([0-9]+)(?:\.[0-9a-z]+)?\.tmp$/;

/** Reads and writes the state file in one directory. */
export class StateStore implements StatePort {
  readonly path: string;
  readonly journalPath: string;
  recovery?: StateRecovery;
  notice?: string;
  private saves = 0;
  /** The number of the last note made or read. */
  private seq = 0;
  private journal: FileHandle | undefined;
  private journalBytes = 0;
  /** The journal may end in a fragment: of this process's last write, if it failed, or of another's before this one began. */
  private cut = true;

  constructor(
    readonly dir: string,
    private readonly options: StateStoreOptions = {},
  ) {
    this.path = join(dir, STATE_FILE);
    this.journalPath = join(dir, JOURNAL_FILE);
  }

  /** What the files hold, the journal's later notes taken in. Throws an OperationError only for a passing condition (no file descriptors, no memory). */
  async inspect(): Promise<StateFileStatus> {
    return (await this.read()).status;
  }

  private async read(): Promise<{ status: StateFileStatus; journal: JournalRead }> {
    const journal = await this.readJournal();
    const notes = (after: number) => journal.entries.filter((e) => e.seq > after);
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { status: journal.entries.length > 0 ? { kind: 'ok', state: withNotes(EMPTY_STATE, notes(0)) } : { kind: 'missing' }, journal };
      if (isTransientReadError(code)) throw new OperationError('reading state', this.path, code ?? 'Error', 'transient', errorMessage(err), { cause: err });
      return { status: { kind: 'unusable', problem: `cannot be read (${errorMessage(err)})`, salvaged: notes(0).flatMap((e) => e.targets) }, journal };
    }
    const parsed = parseStateText(text);
    if (!parsed.ok) return { status: { kind: 'unusable', problem: parsed.problem, salvaged: [...parsed.salvaged, ...notes(0).flatMap((e) => e.targets)] }, journal };
    const { journalSeq: _seq, ...state } = parsed.state as AgentState & { journalSeq?: unknown };
    return { status: { kind: 'ok', state: withNotes(state, notes(journalSeqOf(parsed.state))) }, journal };
  }

  private async readJournal(): Promise<JournalRead> {
    let text: string;
    try {
      text = await readFile(this.journalPath, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { entries: [], skipped: 0, bytes: 0 };
      if (isTransientReadError(code)) throw new OperationError('reading state', this.journalPath, code ?? 'Error', 'transient', errorMessage(err), { cause: err });
      return { entries: [], skipped: 0, bytes: 0, problem: `cannot be read (${errorMessage(err)})` };
    }
    return { ...parseJournalText(text), bytes: Buffer.byteLength(text) };
  }

  /** The saved state; empty when there is none yet, or when it cannot be used (then `recovery` says why and where it went). */
  async load(): Promise<AgentState> {
    await this.removeStaleTemps();
    const { status: found, journal } = await this.read();
    this.seq = Math.max(this.seq, ...journal.entries.map((e) => e.seq), found.kind === 'ok' ? journalSeqOf(found.state) : 0);
    this.journalBytes = journal.bytes;
    if (journal.problem !== undefined) this.notice = `state journal ${this.journalPath} ${journal.problem}: the targets noted in it since the last save are not known to this run`;
    else if (journal.skipped > 0) this.notice = `state journal ${this.journalPath}: ${journal.skipped} line(s) cut short skipped (a write the agent did not finish; no call was made for it)`;
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

  /** Replaces the state file atomically and durably; on failure nothing of the attempt is left. The state takes in every note made so far. */
  async save(state: AgentState): Promise<void> {
    const seq = this.seq;
    await replaceFile(this.dir, STATE_FILE, `${JSON.stringify(seq > 0 ? { ...state, journalSeq: seq } : state, null, 2)}\n`, `${STATE_FILE}.${process.pid}.${++this.saves}.tmp`);
    if (this.journalBytes <= COMPACT_BYTES || this.journal === undefined) return;
    // Every line is older than the state just saved; a cut that does not reach the disk leaves lines a load skips by their numbers.
    await this.journal.truncate(0).then(() => (this.journalBytes = 0), () => undefined);
  }

  /** Appends the note to the journal and returns once it is on disk (O_DSYNC: the write returns after its data is). */
  async note(note: StateNote): Promise<void> {
    if (this.journal === undefined) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.journal = await open(this.journalPath, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC | constants.O_NOFOLLOW, 0o600);
    }
    // A process's first line, and the one after a write that failed part-way, begin with a newline: a fragment stays a line of its own.
    const line = `${this.cut ? '\n' : ''}${journalLine(++this.seq, note)}`;
    const bytes = Buffer.byteLength(line);
    this.cut = true;
    const { bytesWritten } = await this.journal.write(line);
    this.journalBytes += bytesWritten;
    if (bytesWritten < bytes) throw new Error(`wrote ${bytesWritten} of ${bytes} bytes to ${this.journalPath}`);
    this.cut = false;
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
 * synced, renamed over it, the directory synced. The temp file is always a new file
 * (O_EXCL|O_NOFOLLOW): a link planted at its name is never followed. On failure nothing of the attempt is left:
 * a full disk must not fill up further with half-written temp files, one per retry.
 * `durable: false` (a report, not a record): atomic, but nothing is synced.
 */
/** Flags of a temp file: created here and now, never an existing file or a symbolic link's target. */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export async function replaceFile(dir: string, name: string, text: string, tmpName: string, { durable = true } = {}): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, tmpName);
  try {
    const file = await open(tmp, NEW_FILE, 0o600);
    try {
      await file.writeFile(text);
      if (durable) await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(dir, name));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (durable) await syncDir(dir);
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
    const file = await open(tmp, NEW_FILE, 0o600);
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
