/**
 * The configuration file (`--config`, and the systemd unit's EnvironmentFile): KEY=VALUE
 * lines, read with their line numbers so that messages can point at them, and rewritten key
 * by key keeping every other line and comment. Which names are options, and which are typos
 * of one, is decided here once for the file, the environment, `config set` and the installer.
 */
import { ConfigError } from './errors.ts';
import { OPTIONS, envName } from './config-options.ts';

/** Every option's variable starts with this. */
export const ENV_PREFIX = 'ECS_ANYWHERE_LB_';

/** Where the installer and the packages put the file. */
export const DEFAULT_CONFIG_PATH = '/etc/ecs-anywhere-lb-agent/agent.env';

/** What a new file starts with (`config set` on a missing file, the packages' default agent.env). */
export const DEFAULT_CONFIG_FILE = `# ecs-anywhere-lb-agent configuration: the systemd unit's EnvironmentFile and the agent's
# --config file. One KEY=VALUE per line, no quoting; keys not set here take the agent's
# defaults (every option: ecs-anywhere-lb-agent --help). Change keys with
#   ecs-anywhere-lb-agent config set --config ${DEFAULT_CONFIG_PATH} KEY=VALUE...
# which keeps every other line and refuses an invalid result; check the file with
#   ecs-anywhere-lb-agent config validate --config ${DEFAULT_CONFIG_PATH}
# and apply it with: systemctl restart ecs-anywhere-lb-agent
#
# Required: the target groups this host may join (comma-separated ARNs), for example
# ${ENV_PREFIX}ALLOWED_TARGET_GROUPS=arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef
`;

/** One KEY=VALUE line of the file. */
export interface ConfigLine {
  readonly key: string;
  readonly value: string;
  /** 1-based. */
  readonly line: number;
}

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/** The key a line assigns, or undefined for blank lines and comments; throws on anything else. */
function keyOf(raw: string, source: string, line: number): { key: string; value: string } | undefined {
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return undefined;
  const match = ASSIGNMENT.exec(trimmed);
  if (!match) throw new ConfigError('config', `${source} line ${line}: expected KEY=VALUE`);
  let value = match[2] ?? '';
  if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
  return { key: match[1] as string, value };
}

/** The assignments of a file (systemd EnvironmentFile syntax: comments, `export`, optional quotes), in order. */
export function readConfigLines(text: string, source: string): ConfigLine[] {
  const out: ConfigLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const a = keyOf(raw, source, index + 1);
    if (a) out.push({ ...a, line: index + 1 });
  });
  return out;
}

const KNOWN = new Map(OPTIONS.map((o) => [envName(o.name), o]));

/** Whether the variable is one of the agent's options. */
export function isOptionVariable(key: string): boolean {
  return KNOWN.has(key);
}

/**
 * The variable a `config set` key names: `LOG_LEVEL` means ECS_ANYWHERE_LB_LOG_LEVEL;
 * ECS_ANYWHERE_LB_* and AWS_* names are taken as given. Throws for a name that is no
 * variable, an ECS_ANYWHERE_LB_* name that is no option (unless `anyName`: removing a typo
 * must work), and ECS_ANYWHERE_LB_CONFIG (a file cannot name itself).
 */
export function configKey(name: string, anyName = false): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConfigError(`"${name}"`, 'is not a variable name (letters, digits, _)');
  const key = name.startsWith(ENV_PREFIX) || name.startsWith('AWS_') ? name : `${ENV_PREFIX}${name}`;
  if (key === envName('config') && !anyName) throw new ConfigError(key, 'cannot be set in the configuration file itself');
  if (key.startsWith(ENV_PREFIX) && !isOptionVariable(key) && !anyName) throw new ConfigError(key, unknownText(key));
  return key;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] as number;
}

/** The option variable a mistyped name most likely meant. */
export function closestOption(key: string): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of KNOWN.keys()) {
    const d = distance(key, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor((key.length - ENV_PREFIX.length) / 4)) ? best.name : undefined;
}

function unknownText(key: string): string {
  const meant = closestOption(key);
  return `not an option of this agent${meant ? ` (did you mean ${meant}?)` : ''}; ecs-anywhere-lb-agent --help lists them`;
}

/** An ECS_ANYWHERE_LB_* name that sets nothing: a typo the user believes is in force. */
export interface UnknownName {
  readonly name: string;
  /** "environment", or "FILE line N". */
  readonly where: string;
}

/** The ECS_ANYWHERE_LB_* names among these that are no option. */
export function unknownNames(entries: Iterable<readonly [string, string]>): UnknownName[] {
  const out: UnknownName[] = [];
  for (const [name, where] of entries) if (name.startsWith(ENV_PREFIX) && !isOptionVariable(name)) out.push({ name, where });
  return out;
}

/** The warning `run` logs and every other command prints for an unknown name. */
export function unknownWarning(u: UnknownName): string {
  const meant = closestOption(u.name);
  return `${u.name} (${u.where}) is not an option of this agent and is ignored${meant ? `; did you mean ${meant}?` : ''}`;
}

/** The error `config validate`, `config set` and the installer report for an unknown name. */
export function unknownError(u: UnknownName): ConfigError {
  return new ConfigError(`${u.name} (${u.where})`, unknownText(u.name));
}

/**
 * Refuses values that systemd's EnvironmentFile= and the agent's --config would read
 * differently, or that need quoting: whitespace, quotes, backslashes, $, backticks, #.
 */
export function checkStorableValue(key: string, value: string): void {
  if (value === '') throw new ConfigError(key, 'an empty value; use --unset to remove the key');
  if (/[\s"'\\$`#]/.test(value)) throw new ConfigError(key, `"${value}" contains whitespace, a quote, \\, $, \` or #, which the configuration file cannot hold`);
}

/** What `editConfigFile` did, one line per key. */
export interface ConfigEdit {
  readonly text: string;
  readonly changes: readonly string[];
}

/**
 * Sets and removes keys in the file's text (undefined: a new file from DEFAULT_CONFIG_FILE).
 * A key that is set replaces its first line in place (later duplicates go); new keys are
 * appended in the order given; every other line, comments included, stays as it was.
 */
export function editConfigFile(text: string | undefined, set: readonly (readonly [string, string])[], unset: readonly string[], source: string): ConfigEdit {
  const values = new Map(set);
  const removed = new Set(unset.filter((k) => !values.has(k)));
  const before = new Map<string, string>();
  const written = new Set<string>();
  const out: string[] = [];
  const lines = (text ?? DEFAULT_CONFIG_FILE).split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const a = keyOf(raw, source, index + 1);
    if (!a || (!values.has(a.key) && !removed.has(a.key))) {
      out.push(raw);
      return;
    }
    before.set(a.key, a.value);
    if (removed.has(a.key) || written.has(a.key)) return;
    out.push(`${a.key}=${values.get(a.key) as string}`);
    written.add(a.key);
  });
  for (const [key, value] of values) if (!written.has(key)) out.push(`${key}=${value}`);
  const changes: string[] = [];
  for (const [key, value] of values) {
    const was = before.get(key);
    if (was !== value) changes.push(was === undefined ? `set ${key}=${shownValue(key, value)}` : `set ${key}=${shownValue(key, value)} (was ${shownValue(key, was)})`);
  }
  for (const key of removed) if (before.has(key)) changes.push(`removed ${key} (was ${shownValue(key, before.get(key) as string)})`);
  return { text: `${out.join('\n')}\n`, changes };
}

/** Keys whose values are secrets: `config set` and `config get` never print them (a terminal's scrollback, a support ticket). */
export const SECRET_KEYS: readonly string[] = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** A value as `config` prints it: secrets masked, their length kept so that a truncated paste shows. */
export function shownValue(key: string, value: string): string {
  return SECRET_KEYS.includes(key) ? `<hidden, ${value.length} characters>` : value;
}
