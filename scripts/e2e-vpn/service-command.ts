/**
 * How systemd would start a service that an installer put into a scratch root, for machines
 * where systemd is not PID 1: the unit's (and its drop-ins') ExecStart, WorkingDirectory,
 * EnvironmentFile and Environment, with paths taken inside the root. StateDirectory= is
 * systemd's: the directory is made inside the root and an Environment value naming
 * /var/lib/<StateDirectory> points there. Pure except for reading the files.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readConfigLines } from '../../agent/config-file.ts';

/** The settings of a unit's sections, each key with every value in order (drop-ins after the unit). */
export type UnitSettings = Map<string, Map<string, string[]>>;

/** Reads `Key=Value` lines by section (comments, blank lines and continuation-free units). */
export function parseUnit(texts: readonly string[]): UnitSettings {
  const sections: UnitSettings = new Map();
  for (const text of texts) {
    let section = '';
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header) {
        section = header[1] as string;
        continue;
      }
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      const keys = sections.get(section) ?? new Map<string, string[]>();
      sections.set(section, keys);
      // An empty assignment resets the list, as systemd does.
      keys.set(key, value === '' ? [] : [...(keys.get(key) ?? []), value]);
    }
  }
  return sections;
}

/** `Environment=` values: space-separated assignments, each optionally double-quoted. */
export function parseEnvironmentAssignments(value: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const m of value.matchAll(/"([^"]*)"|(\S+)/g)) {
    const word = m[1] ?? m[2] ?? '';
    const eq = word.indexOf('=');
    if (eq > 0) out.push([word.slice(0, eq), word.slice(eq + 1)]);
  }
  return out;
}

/** What to run, and with what. */
export interface ServiceCommand {
  readonly argv: string[];
  readonly cwd?: string;
  readonly env: Record<string, string>;
  /** StateDirectory= inside the root (to be created 0700), when the unit has one. */
  readonly stateDirectory?: string;
}

/**
 * The command of `unit` (a path inside `root`, with its `.d/*.conf` drop-ins) as systemd would
 * run it, `%i` replaced by `instance`. Paths of ExecStart's program, WorkingDirectory and
 * EnvironmentFile are taken inside `root` when they exist there.
 */
export function serviceCommand(root: string, unit: string, options: { instance?: string; unitPath?: string } = {}): ServiceCommand {
  const unitFile = options.unitPath ?? join(root, unit);
  if (!existsSync(unitFile)) throw new Error(`no unit ${unitFile}`);
  const dropInDir = join(root, `${unit}.d`);
  const dropIns = existsSync(dropInDir) ? readdirSync(dropInDir).filter((f) => f.endsWith('.conf')).sort().map((f) => join(dropInDir, f)) : [];
  const settings = parseUnit([unitFile, ...dropIns].map((f) => readFileSync(f, 'utf8')));
  const service = settings.get('Service') ?? new Map<string, string[]>();
  const expand = (s: string) => s.replaceAll('%i', options.instance ?? '');
  const inRoot = (path: string) => (existsSync(join(root, path)) ? join(root, path) : path);
  const execStart = service.get('ExecStart')?.at(-1);
  if (execStart === undefined) throw new Error(`${unitFile} has no ExecStart=`);
  // Prefixes such as "-" or "@" are not used by these units; refuse rather than misread them.
  if (/^[-@:+!]/.test(execStart)) throw new Error(`${unitFile}: ExecStart= prefix not supported here: ${execStart}`);
  const [program, ...args] = expand(execStart).split(/\s+/);
  const env: Record<string, string> = {};
  // systemd.exec(5): settings from EnvironmentFile= override those made with Environment=.
  for (const value of service.get('Environment') ?? []) for (const [k, v] of parseEnvironmentAssignments(expand(value))) env[k] = v;
  for (const file of service.get('EnvironmentFile') ?? []) {
    const optional = file.startsWith('-');
    const path = join(root, expand(optional ? file.slice(1) : file));
    if (!existsSync(path)) {
      if (optional) continue;
      throw new Error(`${unitFile}: EnvironmentFile ${path} is missing`);
    }
    for (const line of readConfigLines(readFileSync(path, 'utf8'), path)) env[line.key] = line.value;
  }
  const state = service.get('StateDirectory')?.at(-1);
  const stateDirectory = state !== undefined ? join(root, 'var/lib', state) : undefined;
  if (state !== undefined && stateDirectory !== undefined) {
    for (const [k, v] of Object.entries(env)) if (v === `/var/lib/${state}`) env[k] = stateDirectory;
  }
  const cwd = service.get('WorkingDirectory')?.at(-1);
  return {
    argv: [inRoot(program as string), ...args],
    ...(cwd !== undefined ? { cwd: join(root, expand(cwd)) } : {}),
    env,
    ...(stateDirectory !== undefined ? { stateDirectory } : {}),
  };
}
