/**
 * The state directory must be the agent's alone: it decides what the agent deregisters, so
 * whoever can write it can make the agent remove other hosts' targets or keep stale ones. A
 * directory that another user owns, or that group or others may write, stops start-up with a
 * message that says how to fix it. A missing directory is fine: the store creates it 0700.
 */
import { lstat } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';

const OPTION = '--state-dir (ECS_ANYWHERE_LB_STATE_DIR)';

/** Throws a ConfigError naming the problem, or resolves when the directory is safe (or absent). */
export async function checkStateDir(dir: string, uid: number = process.getuid?.() ?? 0): Promise<void> {
  const st = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st === undefined) return;
  if (st.isSymbolicLink()) throw new ConfigError(OPTION, `${dir} is a symbolic link; name the directory itself`);
  if (!st.isDirectory()) throw new ConfigError(OPTION, `${dir} is not a directory`);
  if (st.uid !== uid) throw new ConfigError(OPTION, `${dir} is owned by uid ${st.uid}, not by the agent's user (uid ${uid}): chown ${uid} ${dir}`);
  const mode = st.mode & 0o777;
  if ((mode & 0o022) !== 0) throw new ConfigError(OPTION, `${dir} is writable by ${(mode & 0o020) !== 0 ? 'its group' : 'others'} (mode ${mode.toString(8).padStart(4, '0')}): chmod go-w ${dir}`);
}
