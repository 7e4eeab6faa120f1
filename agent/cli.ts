/** The command line: which command, which options (as raw text), and the help text. */
import { ConfigError } from './errors.ts';
import { OPTIONS, envName } from './config-options.ts';
import type { RawOptions } from './config.ts';

export const COMMANDS = ['run', 'status', 'check', 'deregister'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CommandLine {
  readonly command?: Command;
  readonly options: RawOptions;
  readonly help: boolean;
  readonly version: boolean;
  /** `status --json`, `check --json`. */
  readonly json: boolean;
  /** `deregister --all`. */
  readonly all: boolean;
}

const COMMAND_FLAGS = new Set(['help', 'version', 'json', 'all']);

/** Parses argv (without node and script). Throws ConfigError for unknown commands and options. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const options: RawOptions = {};
  const flags = new Set<string>();
  let command: Command | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') {
      flags.add('help');
      continue;
    }
    if (!arg.startsWith('--')) {
      if (command !== undefined) throw new ConfigError('command line', `unexpected argument "${arg}"`);
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
    if (!spec) throw new ConfigError(`--${name}`, 'unknown option (see --help)');
    if (spec.type === 'boolean') {
      options[name] = inline ?? 'true';
    } else if (inline !== undefined) {
      options[name] = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`--${name}`, 'needs a value');
      options[name] = next;
      i++;
    }
  }
  return {
    ...(command !== undefined ? { command } : {}),
    options,
    help: flags.has('help'),
    version: flags.has('version'),
    json: flags.has('json'),
    all: flags.has('all'),
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
    '  deregister --all deregister every target this host registered',
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
