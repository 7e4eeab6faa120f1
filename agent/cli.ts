/** The command line: which command, which options (as raw text), and the help text. */
import { ConfigError } from './errors.ts';
import { OPTIONS, envName } from './config-options.ts';
import type { RawOptions } from './config.ts';

export const COMMANDS = ['run', 'status', 'check', 'deregister', 'config', 'iam-policy', 'docker-proxy', 'fleet'] as const;
export type Command = (typeof COMMANDS)[number];

/** What `config` does with the file. */
export const CONFIG_ACTIONS = ['validate', 'set', 'get'] as const;
export type ConfigAction = (typeof CONFIG_ACTIONS)[number];

/** What `fleet` does: report the whole fleet, or deregister what dead hosts left behind. */
export const FLEET_ACTIONS = ['status', 'clean'] as const;
export type FleetAction = (typeof FLEET_ACTIONS)[number];

export interface CommandLine {
  readonly command?: Command;
  /** `config validate|set|get`. */
  readonly action?: ConfigAction;
  /** Words after the command: `config set`'s KEY=VALUE pairs, `config get`'s KEY. */
  readonly args: readonly string[];
  /** `config set --unset KEY` (repeatable). */
  readonly unset: readonly string[];
  /** `iam-policy --region REGION`. */
  readonly region?: string;
  /** `iam-policy --account ACCOUNT_ID`. */
  readonly account?: string;
  /** `iam-policy --tag-scoped KEY=VALUE`. */
  readonly tagScoped?: string;
  readonly options: RawOptions;
  readonly help: boolean;
  readonly version: boolean;
  /** `status --json`, `check --json`. */
  readonly json: boolean;
  /** `deregister --all`. */
  readonly all: boolean;
  /** `fleet status|clean`. */
  readonly fleetAction?: FleetAction;
  /** `fleet --cluster NAME|ARN`. */
  readonly cluster?: string;
  /** `fleet --grace DURATION`. */
  readonly grace?: string;
  /** `fleet clean --apply`. */
  readonly apply: boolean;
  /** `iam-policy --fleet-clean`: the policy of the host or role that runs `fleet clean`. */
  readonly fleetClean: boolean;
}

const COMMAND_FLAGS = new Set(['help', 'version', 'json', 'all', 'apply', 'fleet-clean']);
/** Flags that take a value and belong to some commands: the commands (and actions) they go with. */
const COMMAND_VALUE_FLAGS: Record<string, readonly string[]> = {
  unset: ['config set'], region: ['iam-policy', 'fleet'], 'target-groups': ['iam-policy', 'fleet'], cluster: ['fleet', 'iam-policy'], grace: ['fleet'], account: ['iam-policy'], 'tag-scoped': ['iam-policy'],
};

/** Parses argv (without node and script). Throws ConfigError for unknown commands and options. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const options: RawOptions = {};
  const flags = new Set<string>();
  const given = new Set<string>();
  const words: string[] = [];
  const unset: string[] = [];
  let region: string | undefined;
  let account: string | undefined;
  let tagScoped: string | undefined;
  let cluster: string | undefined;
  let grace: string | undefined;
  let command: Command | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') {
      flags.add('help');
      continue;
    }
    if (!arg.startsWith('--')) {
      if (command !== undefined) {
        words.push(arg);
        continue;
      }
      if (!(COMMANDS as readonly string[]).includes(arg)) throw new ConfigError('command', `unknown command "${arg}" (expected ${COMMANDS.join(', ')})`);
      command = arg as Command;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (COMMAND_FLAGS.has(name)) {
      if (inline !== undefined) throw new ConfigError(`--${name}`, 'takes no value');
      flags.add(name);
      continue;
    }
    const spec = OPTIONS.find((o) => o.name === name);
    if (!spec && COMMAND_VALUE_FLAGS[name] === undefined) throw new ConfigError(`--${name}`, 'unknown option (see --help)');
    let text: string;
    if (spec?.type === 'boolean') {
      text = inline ?? 'true';
    } else if (inline !== undefined) {
      text = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`--${name}`, 'needs a value');
      text = next;
      i++;
    }
    given.add(name);
    if (name === 'unset') unset.push(text);
    else if (name === 'region') region = text;
    else if (name === 'account') account = text;
    else if (name === 'tag-scoped') tagScoped = text;
    else if (name === 'cluster') cluster = text;
    else if (name === 'grace') grace = text;
    else if (name === 'target-groups') options['allowed-target-groups'] = text;
    else options[name] = text;
  }

  let action: ConfigAction | undefined;
  if (command === 'config') {
    const word = words.shift();
    if (word === undefined || !(CONFIG_ACTIONS as readonly string[]).includes(word)) {
      throw new ConfigError('config', `${word === undefined ? 'needs' : `unknown action "${word}": expected`} ${CONFIG_ACTIONS.join(', ')} (config validate --config FILE, config set --config FILE KEY=VALUE...)`);
    }
    action = word as ConfigAction;
  }
  let fleetAction: FleetAction | undefined;
  if (command === 'fleet') {
    const word = words.shift();
    if (word === undefined || !(FLEET_ACTIONS as readonly string[]).includes(word)) {
      throw new ConfigError('fleet', `${word === undefined ? 'needs' : `unknown action "${word}": expected`} ${FLEET_ACTIONS.join(' or ')} (fleet status --cluster NAME)`);
    }
    fleetAction = word as FleetAction;
  }
  const full = action !== undefined ? `config ${action}` : command;
  for (const name of given) {
    const owners = COMMAND_VALUE_FLAGS[name];
    if (owners !== undefined && !owners.includes(full ?? '')) throw new ConfigError(`--${name}`, `goes with ${owners.join(' or ')}`);
  }
  if (flags.has('apply') && fleetAction !== 'clean') throw new ConfigError('--apply', 'goes with fleet clean');
  if (flags.has('fleet-clean') && command !== 'iam-policy') throw new ConfigError('--fleet-clean', 'goes with iam-policy');
  if (action === 'set') {
    const bad = words.find((w) => !w.includes('='));
    if (bad !== undefined) throw new ConfigError('config set', `"${bad}" is not KEY=VALUE`);
  } else if (action === 'get') {
    if (words.length !== 1) throw new ConfigError('config get', 'needs exactly one KEY');
  } else if (words.length > 0) {
    throw new ConfigError('command line', `unexpected argument "${words[0] as string}"`);
  }
  return {
    ...(command !== undefined ? { command } : {}),
    ...(action !== undefined ? { action } : {}),
    args: words,
    unset,
    ...(region !== undefined ? { region } : {}),
    ...(account !== undefined ? { account } : {}),
    ...(tagScoped !== undefined ? { tagScoped } : {}),
    options,
    help: flags.has('help'),
    version: flags.has('version'),
    json: flags.has('json'),
    all: flags.has('all'),
    ...(fleetAction !== undefined ? { fleetAction } : {}),
    ...(cluster !== undefined ? { cluster } : {}),
    ...(grace !== undefined ? { grace } : {}),
    apply: flags.has('apply'),
    fleetClean: flags.has('fleet-clean'),
  };
}

/** The text of --help. */
export function helpText(): string {
  const lines = [
    'ecs-anywhere-lb-agent: registers this host\'s ECS Anywhere task containers in ELBv2 target groups',
    '',
    'Usage: ecs-anywhere-lb-agent <command> [options]',
    '',
    'Commands:',
    '  run              watch Docker and keep the target groups in step (the systemd unit runs this)',
    '  status [--json]  this host\'s targets per target group, with health',
    '  check [--json]   verify config, Docker access, credentials, host address and target groups',
    '  deregister --all deregister every target this host registered (at once, without AWS, when it never registered any)',
    '  config validate --config FILE',
    '                   check the file, the environment and the flags offline as `run` would; exit 78 naming every',
    '                   problem, unknown ECS_ANYWHERE_LB_* names included',
    '  config set --config FILE [KEY=VALUE...] [--unset KEY]...',
    '                   rewrite only those keys (KEY: ECS_ANYWHERE_LB_NAME, NAME or AWS_*), keeping every other line',
    '                   and comment; the file is left as it was when the result, read alone as the unit reads it,',
    '                   would be invalid (a missing file starts from a commented template)',
    '  config get --config FILE KEY',
    '                   print the value the file gives KEY (exit 1 when it sets none)',
    '  iam-policy [--target-groups ARN,...] [--region REGION --account ID] [--tag-scoped KEY=VALUE] [--read-service-tags]',
    '             [--cluster NAME] [--fleet-clean]',
    '                   print the IAM policy JSON for the instance role (groups from the flag, or --config and',
    '                   the environment like `run`; --region (AWS_REGION) and --account (AWS_ACCOUNT_ID) with',
    '                   --allow-any-target-group; --tag-scoped: also every group of --region and --account that',
    '                   carries the tag KEY=VALUE; --cluster: the cluster whose container instances get the address',
    '                   attribute); --fleet-clean: the policy of `fleet clean` instead',
    '  docker-proxy     hold the Docker socket for the agent and pass on only its five reads (GET list, inspect,',
    '                   events, the bridge network, version; 403 for anything else), on the socket systemd passes',
    '                   or --docker-host\'s path, to the engine at DOCKER_HOST (default unix:///var/run/docker.sock)',
    '  fleet status --cluster NAME [--target-groups ARN,...] [--grace 15m] [--json]',
    '                   every target of the groups in play with its host, task and health, then what is wrong: labelled',
    '                   running tasks whose target is missing, targets no connected container instance holds (stale),',
    '                   targets of instances disconnected past the grace (exit 1 when there is something to fix)',
    '  fleet clean --cluster NAME --target-groups ARN,... [--grace 15m] [--apply]',
    '                   what fleet status calls stale, deregistered (dry run without --apply); never a target on a',
    '                   connected instance\'s address, never a group outside --target-groups',
    '  --version        print version and git commit',
    '  --help           print this help',
    '',
    'Options (flag, environment variable; flags win over the environment, which wins over --config):',
  ];
  for (const o of OPTIONS) {
    const value = o.type === 'boolean' ? '' : o.type === 'enum' ? ` ${o.values?.join('|')}` : ' VALUE';
    lines.push(`  --${o.name}${value}`, `      ${envName(o.name)}${o.default !== undefined ? ` (default ${o.default})` : ''}`, `      ${o.help}`);
  }
  lines.push(
    '',
    'AWS settings come the standard way: AWS_REGION (each call goes to the region its target group ARN names),',
    'AWS_SHARED_CREDENTIALS_FILE / AWS_PROFILE (default /root/.aws/credentials, profile default, as the SSM',
    'agent writes them), AWS_ACCESS_KEY_ID etc., AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2.',
    '',
    'Container labels (a task definition\'s dockerLabels):',
    '  ecs-anywhere-lb.target-group-arn=ARN       register the container\'s published TCP port',
    '  ecs-anywhere-lb.container-port=N           which container port, when it publishes several',
    '  ecs-anywhere-lb.targets=ARN@PORT,ARN@PORT  several groups and/or ports',
    '',
    'Exit codes: 0 ok, 1 failure (check found problems, AWS or Docker errors), 78 invalid configuration or usage (EX_CONFIG; systemd does not restart on it).',
  );
  return lines.join('\n');
}
