// Config: defaults, precedence (flags > env > file), validation messages that name the
// option and its environment variable, durations, the command line and --help.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS, helpText, parseCommandLine } from '../../agent/cli.ts';
import {
  DEFAULT_AVAILABILITY_ZONE,
  DEFAULT_DRAIN_TIMEOUT,
  DEFAULT_RECONCILE_INTERVAL,
  DEFAULT_STATE_DIR,
  OPTIONS,
  envName,
} from '../../agent/config-options.ts';
import { buildConfig, describeConfig, parseEnvFile, resolveOptions, type RawOptions } from '../../agent/config.ts';
import { parseDuration } from '../../agent/config-values.ts';
import { ConfigError } from '../../agent/errors.ts';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';

const ARN_A = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const ARN_B = 'arn:aws:elasticloadbalancing:eu-west-1:210987654321:targetgroup/api-tg/fedcba9876543210';

/** The smallest valid raw options: everything else at its default. */
const minimal = (extra: RawOptions = {}): RawOptions => ({ 'allowed-target-groups': ARN_A, ...extra });

/** The ConfigError a call throws (fails the test when it throws nothing or something else). */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('envName', () => {
  it.each([
    ['host-ip', 'ECS_ANYWHERE_LB_HOST_IP'],
    ['allowed-target-groups', 'ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS'],
    ['config', 'ECS_ANYWHERE_LB_CONFIG'],
  ])('%s -> %s', (option, env) => {
    expect(envName(option)).toBe(env);
  });
});

describe('buildConfig defaults', () => {
  it('fills every option that is not given from its named default', () => {
    expect(buildConfig(minimal())).toStrictEqual({
      allowAnyAddress: false,
      allowedTargetGroups: [ARN_A],
      allowAnyTargetGroup: false,
      stateDir: DEFAULT_STATE_DIR,
      vpcCidrs: [],
      availabilityZone: DEFAULT_AVAILABILITY_ZONE,
      reconcileIntervalMs: parseDuration(DEFAULT_RECONCILE_INTERVAL),
      addressCheckIntervalMs: 2000,
      onExit: 'auto',
      drainTimeoutMs: parseDuration(DEFAULT_DRAIN_TIMEOUT),
      logFormat: 'json',
      logLevel: 'info',
      includeNonEcs: false,
      dryRun: false,
      healthThresholdMs: 120_000,
      retryMaxDelayMs: 30_000,
      fleetSize: 100,
      elbApiLimits: DEFAULT_ELB_API_LIMITS,
      readinessAddress: 'auto',
      taskMetadataEndpoint: 'http://169.254.170.2',
      readServiceTags: false,
      dockerHost: { socketPath: '/run/ecs-anywhere-lb-agent/docker.sock' },
      hostPortRange: { min: 32768, max: 60999 },
      ecsIntrospectionEndpoint: 'http://localhost:51678',
    });
  });

  it('the option table names each field of the configuration once, and the configuration holds no field the table does not name', () => {
    const fields = OPTIONS.flatMap((o) => (o.field !== undefined ? [o.field] : []));
    expect(new Set(fields).size).toBe(fields.length);
    const full = buildConfig(minimal({ 'host-ip': '10.8.0.6', 'mapping-file': '/etc/m.json', 'metrics-address': '127.0.0.1:9100', 'health-threshold': '5m' }));
    expect(Object.keys(full).filter((k) => !(fields as string[]).includes(k))).toEqual([]);
    expect(OPTIONS.filter((o) => o.field === undefined).map((o) => o.name)).toEqual(['config']);
  });

  it('has the documented default values', () => {
    expect([DEFAULT_STATE_DIR, DEFAULT_AVAILABILITY_ZONE, parseDuration(DEFAULT_RECONCILE_INTERVAL), parseDuration(DEFAULT_DRAIN_TIMEOUT)]).toEqual([
      '/var/lib/ecs-anywhere-lb-agent',
      'all',
      60_000,
      120_000,
    ]);
  });

  it('reads every option when all are given', () => {
    const config = buildConfig({
      'host-ip': '10.8.0.10',
      'allow-any-address': 'true',
      'allowed-target-groups': ` ${ARN_A} , ${ARN_B},`,
      'allow-any-target-group': 'no',
      'state-dir': '/srv/agent',
      'vpc-cidr': '10.0.0.0/16, 172.31.0.0/16',
      'availability-zone': 'eu-west-1b',
      'reconcile-interval': '2m',
      'address-check-interval': '500ms',
      'on-exit': 'keep',
      'drain-timeout': '0',
      'log-format': 'text',
      'log-level': 'debug',
      'include-non-ecs': 'on',
      'mapping-file': '/etc/ecs-anywhere-lb-agent/mapping.json',
      'metrics-address': '127.0.0.1:9100',
      'dry-run': '1',
      'fleet-size': '10000',
      'elb-api-limits': 'change=20:100',
      'readiness-address': '172.17.0.1',
      'task-metadata-endpoint': 'http://127.0.0.1:51679/',
      'read-service-tags': 'true',
      'docker-host': 'unix:///var/run/docker.sock',
      'host-port-range': '49153-65535',
      'ecs-introspection-endpoint': 'http://127.0.0.1:51678/',
    });
    expect(config).toStrictEqual({
      hostIp: '10.8.0.10',
      allowAnyAddress: true,
      allowedTargetGroups: [ARN_A, ARN_B],
      allowAnyTargetGroup: false,
      stateDir: '/srv/agent',
      vpcCidrs: [
        { text: '10.0.0.0/16', base: 0x0a000000, prefix: 16 },
        { text: '172.31.0.0/16', base: 0xac1f0000, prefix: 16 },
      ],
      availabilityZone: 'eu-west-1b',
      reconcileIntervalMs: 120_000,
      addressCheckIntervalMs: 500,
      onExit: 'keep',
      drainTimeoutMs: 0,
      logFormat: 'text',
      logLevel: 'debug',
      includeNonEcs: true,
      mappingFile: '/etc/ecs-anywhere-lb-agent/mapping.json',
      metricsAddress: { host: '127.0.0.1', port: 9100 },
      dryRun: true,
      healthThresholdMs: 240_000,
      retryMaxDelayMs: 30_000,
      fleetSize: 10_000,
      elbApiLimits: { change: { perSecond: 20, burst: 100 }, describe: DEFAULT_ELB_API_LIMITS.describe },
      readinessAddress: { host: '172.17.0.1', port: 9465 },
      taskMetadataEndpoint: 'http://127.0.0.1:51679',
      readServiceTags: true,
      dockerHost: { socketPath: '/var/run/docker.sock' },
      hostPortRange: { min: 49153, max: 65535 },
      ecsIntrospectionEndpoint: 'http://127.0.0.1:51678',
    });
    expect(describeConfig(config)).toMatchObject({ vpcCidrs: ['10.0.0.0/16', '172.31.0.0/16'], metricsAddress: '127.0.0.1:9100', elbApiLimits: 'change=20:100,describe=10:40', dockerHost: 'unix:///var/run/docker.sock' });
  });

  it('accepts no allowed groups when --allow-any-target-group is set', () => {
    expect(buildConfig({ 'allow-any-target-group': 'true' })).toMatchObject({ allowedTargetGroups: [], allowAnyTargetGroup: true });
  });

  it.each([
    // [case, options, health threshold ms, or the error's fragment]
    ['default: 120 s', {}, 120_000],
    ['default: twice a long reconcile interval', { 'reconcile-interval': '5m' }, 600_000],
    ['given', { 'health-threshold': '3s', 'reconcile-interval': '1s' }, 3000],
    ['given shorter than two periodic runs', { 'health-threshold': '90s' }, 'shorter than twice --reconcile-interval'],
  ] as [string, RawOptions, number | string][])('--health-threshold %s', (_case, options, expected) => {
    if (typeof expected === 'number') expect(buildConfig(minimal(options)).healthThresholdMs).toBe(expected);
    else expect(configErrorOf(() => buildConfig(minimal(options))).message).toContain(expected);
  });

  it.each<[string, RawOptions]>([
    ['a public host-ip with --allow-any-address', minimal({ 'host-ip': '8.8.8.8', 'allow-any-address': 'true' })],
    ['a host-ip inside --vpc-cidr', minimal({ 'host-ip': '54.10.0.5', 'vpc-cidr': '54.10.0.0/16' })],
  ])('accepts %s', (_case, raw) => {
    expect(buildConfig(raw).hostIp).toBe(raw['host-ip']);
  });

  it.each<[string, RawOptions, string | undefined]>([
    ['off turns service-level mapping off', { 'task-metadata-endpoint': 'off' }, undefined],
    ['a URL is kept without its trailing slash', { 'task-metadata-endpoint': 'http://10.0.0.1:8080/' }, 'http://10.0.0.1:8080'],
  ])('--task-metadata-endpoint: %s', (_case, options, expected) => {
    expect(buildConfig(minimal(options)).taskMetadataEndpoint).toBe(expected);
  });

  it.each<[string, RawOptions, string]>([
    ['not a URL', { 'task-metadata-endpoint': '169.254.170.2' }, '--task-metadata-endpoint (ECS_ANYWHERE_LB_TASK_METADATA_ENDPOINT)'],
    ['another scheme', { 'task-metadata-endpoint': 'ftp://169.254.170.2' }, 'neither off nor an http:// URL'],
    ['service tags without the endpoint', { 'task-metadata-endpoint': 'off', 'read-service-tags': 'true' }, '--read-service-tags (ECS_ANYWHERE_LB_READ_SERVICE_TAGS)'],
  ])('refuses %s', (_case, options, fragment) => {
    expect(configErrorOf(() => buildConfig(minimal(options))).message).toContain(fragment);
  });

  it('takes --interface instead of --host-ip', () => {
    const config = buildConfig(minimal({ interface: 'tun0' }));
    expect(config.interface).toBe('tun0');
    expect(config.hostIp).toBeUndefined();
  });
});

describe('boolean option texts', () => {
  it.each([
    ['true', true], ['TRUE', true], ['1', true], ['yes', true], ['on', true],
    ['false', false], ['False', false], ['0', false], ['no', false], ['off', false],
  ])('dry-run=%s -> %s', (text, expected) => {
    expect(buildConfig(minimal({ 'dry-run': text })).dryRun).toBe(expected);
  });
});

describe('durations', () => {
  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['2m', 120_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
    [' 30s ', 30_000],
  ])('parseDuration(%j) = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 's', '2 m', '-1s', '1d', '5sec', '1e3', 'soon', '.5s'])('parseDuration(%j) is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([
    ['reconcile-interval', '90', 'reconcileIntervalMs', 90_000],
    ['reconcile-interval', '2m', 'reconcileIntervalMs', 120_000],
    ['address-check-interval', '500ms', 'addressCheckIntervalMs', 500],
    ['drain-timeout', '90s', 'drainTimeoutMs', 90_000],
  ] as const)('--%s %s -> %s %d', (option, text, field, ms) => {
    expect(buildConfig(minimal({ [option]: text }))[field]).toBe(ms);
  });
});

describe('accepted values', () => {
  it.each([
    ['127.0.0.1:9100', { host: '127.0.0.1', port: 9100 }],
    ['127.1.2.3:1', { host: '127.1.2.3', port: 1 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
    ['[::1]:9100', { host: '::1', port: 9100 }],
  ])('metrics-address %s', (text, expected) => {
    expect(buildConfig(minimal({ 'metrics-address': text })).metricsAddress).toEqual(expected);
  });

  it.each([
    ['172.17.0.1', { host: '172.17.0.1', port: 9465 }],
    ['172.17.0.1:0', { host: '172.17.0.1', port: 0 }],
    ['off', 'off'],
  ])('readiness-address %s', (text, expected) => {
    expect(buildConfig(minimal({ 'readiness-address': text })).readinessAddress).toEqual(expected);
  });

  it.each(['all', 'us-east-1a', 'eu-central-2c', 'us-gov-west-1b', 'ap-northeast-3a'])('availability-zone %s', (zone) => {
    expect(buildConfig(minimal({ 'availability-zone': zone })).availabilityZone).toBe(zone);
  });

  it.each(['eth0', 'tun0', 'wg-vpn', 'enp0s31f6', 'br-1a2b3c4d5e6f', 'eth0.100'])('interface %s', (name) => {
    expect(buildConfig(minimal({ interface: name })).interface).toBe(name);
  });

  it('normalises a CIDR that is not aligned to its prefix', () => {
    expect(buildConfig(minimal({ 'vpc-cidr': '10.1.2.3/16' })).vpcCidrs).toEqual([{ text: '10.1.2.3/16', base: 0x0a010000, prefix: 16 }]);
  });
});

describe('validation errors name the option and its environment variable', () => {
  // [case, raw options, option named, fragment of the message]
  const cases: [string, RawOptions, string, string][] = [
    ['missing allowed-target-groups', {}, 'allowed-target-groups', 'required'],
    ['allowed-target-groups of only commas', { 'allowed-target-groups': ' , ,' }, 'allowed-target-groups', 'required'],
    ['allowed-target-groups with a load balancer ARN', { 'allowed-target-groups': 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef' }, 'allowed-target-groups', 'loadbalancer/app/web'],
    ['allowed-target-groups with a short account', { 'allowed-target-groups': 'arn:aws:elasticloadbalancing:us-east-1:12345:targetgroup/web/0123456789abcdef' }, 'allowed-target-groups', 'not a target group ARN'],
    ['allowed-target-groups with one bad ARN among good', { 'allowed-target-groups': `${ARN_A},tg/web` }, 'allowed-target-groups', '"tg/web"'],
    ['host-ip and interface together', minimal({ 'host-ip': '10.0.0.5', interface: 'tun0' }), 'host-ip', 'not both'],
    ['host-ip out of range', minimal({ 'host-ip': '10.0.0.256' }), 'host-ip', '"10.0.0.256"'],
    ['host-ip with three parts', minimal({ 'host-ip': '10.0.5' }), 'host-ip', 'not an IPv4 address'],
    ['host-ip that is a name', minimal({ 'host-ip': 'tun0' }), 'host-ip', 'not an IPv4 address'],
    ['host-ip with leading zeros', minimal({ 'host-ip': '010.0.0.5' }), 'host-ip', 'not an IPv4 address'],
    ['interface name too long', minimal({ interface: 'averyveryverylongname' }), 'interface', 'not an interface name'],
    ['interface name with a slash', minimal({ interface: 'eth0/1' }), 'interface', 'not an interface name'],
    ['vpc-cidr prefix 33', minimal({ 'vpc-cidr': '10.0.0.0/33' }), 'vpc-cidr', '"10.0.0.0/33"'],
    ['vpc-cidr without prefix', minimal({ 'vpc-cidr': '10.0.0.0/16,10.1.0.0' }), 'vpc-cidr', '"10.1.0.0"'],
    ['vpc-cidr with a bad address', minimal({ 'vpc-cidr': '10.0.0.300/16' }), 'vpc-cidr', 'not an IPv4 CIDR'],
    ['reconcile-interval not a duration', minimal({ 'reconcile-interval': 'soon' }), 'reconcile-interval', '"soon" is not a duration'],
    ['reconcile-interval in days', minimal({ 'reconcile-interval': '1d' }), 'reconcile-interval', 'not a duration'],
    ['reconcile-interval negative', minimal({ 'reconcile-interval': '-5s' }), 'reconcile-interval', 'not a duration'],
    ['reconcile-interval below its minimum', minimal({ 'reconcile-interval': '500ms' }), 'reconcile-interval', 'minimum'],
    ['address-check-interval below its minimum', minimal({ 'address-check-interval': '50ms' }), 'address-check-interval', 'minimum'],
    ['drain-timeout not a duration', minimal({ 'drain-timeout': '2 minutes' }), 'drain-timeout', 'not a duration'],
    ['on-exit unknown', minimal({ 'on-exit': 'always' }), 'on-exit', 'auto, deregister, keep'],
    ['log-format unknown', minimal({ 'log-format': 'xml' }), 'log-format', '"xml"'],
    ['log-level unknown', minimal({ 'log-level': 'trace' }), 'log-level', 'error, warn, info, debug'],
    ['log-level in capitals', minimal({ 'log-level': 'INFO' }), 'log-level', '"INFO"'],
    ['metrics-address on every interface', minimal({ 'metrics-address': '0.0.0.0:9100' }), 'metrics-address', 'loopback'],
    ['metrics-address on a private address', minimal({ 'metrics-address': '10.0.0.5:9100' }), 'metrics-address', 'loopback'],
    ['metrics-address on IPv6 any', minimal({ 'metrics-address': '[::]:9100' }), 'metrics-address', 'loopback'],
    ['metrics-address on a host name that merely starts with 127.', minimal({ 'metrics-address': '127.example.com:9100' }), 'metrics-address', 'loopback'],
    ['metrics-address without a port', minimal({ 'metrics-address': 'localhost' }), 'metrics-address', 'HOST:PORT'],
    ['metrics-address port 0', minimal({ 'metrics-address': 'localhost:0' }), 'metrics-address', 'HOST:PORT'],
    ['metrics-address port above 65535', minimal({ 'metrics-address': '127.0.0.1:70000' }), 'metrics-address', 'HOST:PORT'],
    ['relative state-dir', minimal({ 'state-dir': 'var/lib/agent' }), 'state-dir', 'absolute'],
    ['dot-relative state-dir', minimal({ 'state-dir': './state' }), 'state-dir', '"./state"'],
    ['availability-zone that is a region', minimal({ 'availability-zone': 'us-east-1' }), 'availability-zone', '"us-east-1"'],
    ['availability-zone in capitals', minimal({ 'availability-zone': 'US-EAST-1A' }), 'availability-zone', 'zone name'],
    ['availability-zone without dashes', minimal({ 'availability-zone': 'useast1a' }), 'availability-zone', 'zone name'],
    ['availability-zone "any"', minimal({ 'availability-zone': 'any' }), 'availability-zone', 'zone name'],
    ['dry-run not a boolean', minimal({ 'dry-run': 'maybe' }), 'dry-run', '"maybe"'],
    ['readiness-address a name', minimal({ 'readiness-address': 'docker0' }), 'readiness-address', '"docker0" is not auto, off or IPv4[:PORT]'],
    ['host-port-range reversed', minimal({ 'host-port-range': '60999-32768' }), 'host-port-range', 'is not MIN-MAX'],
    ['host-port-range port 0', minimal({ 'host-port-range': '0-100' }), 'host-port-range', 'is not MIN-MAX'],
    ['host-port-range one port', minimal({ 'host-port-range': '22' }), 'host-port-range', 'is not MIN-MAX'],
    ['readiness-address on every interface', minimal({ 'readiness-address': '0.0.0.0' }), 'readiness-address', 'listens on every interface'],
    ['readiness-address on every interface, with a port', minimal({ 'readiness-address': '0.0.0.0:9465' }), 'readiness-address', 'listens on every interface'],
    ['readiness-address port above 65535', minimal({ 'readiness-address': '172.17.0.1:70000' }), 'readiness-address', 'is not auto, off or IPv4[:PORT]'],
    ['fleet-size zero', minimal({ 'fleet-size': '0' }), 'fleet-size', '"0" is not a whole number of hosts'],
    ['fleet-size a fraction', minimal({ 'fleet-size': '2.5' }), 'fleet-size', '"2.5" is not a whole number of hosts'],
    ['elb-api-limits malformed', minimal({ 'elb-api-limits': 'change=fast' }), 'elb-api-limits', '"change=fast" is not CLASS=RATE:BURST'],
    ['elb-api-limits unknown class', minimal({ 'elb-api-limits': 'write=4:20' }), 'elb-api-limits', 'unknown API class "write"'],
    ['a public host-ip', minimal({ 'host-ip': '8.8.8.8' }), 'host-ip', 'cannot target 8.8.8.8: public address'],
    ['a loopback host-ip', minimal({ 'host-ip': '127.0.0.1' }), 'host-ip', 'loopback address'],
    ['a relative mapping-file', minimal({ 'mapping-file': 'mapping.json' }), 'mapping-file', 'absolute path'],
  ];

  it.each(cases)('%s', (_case, raw, option, fragment) => {
    const err = configErrorOf(() => buildConfig(raw));
    const named = `--${option} (${envName(option)})`;
    expect(err.option).toBe(named);
    expect(err.message.startsWith(`invalid ${named}: `)).toBe(true);
    expect(err.message).toContain(fragment);
  });
});

describe('config file syntax (parseEnvFile)', () => {
  it('reads comments, blank lines, export, quotes, spaces around = and CRLF', () => {
    const text = [
      '# agent settings',
      '; also a comment',
      '',
      'ECS_ANYWHERE_LB_INTERFACE=tun0',
      'export ECS_ANYWHERE_LB_LOG_LEVEL=debug',
      'ECS_ANYWHERE_LB_STATE_DIR="/srv/with space"',
      "ECS_ANYWHERE_LB_MAPPING_FILE='/etc/m.json'",
      '  ECS_ANYWHERE_LB_DRY_RUN = true  ',
      'ECS_ANYWHERE_LB_CONFIG=/etc/a=b.env',
      'EMPTY=',
      'HALF="quoted',
    ].join('\r\n');
    expect(parseEnvFile(text, '/etc/agent.env')).toStrictEqual({
      ECS_ANYWHERE_LB_INTERFACE: 'tun0',
      ECS_ANYWHERE_LB_LOG_LEVEL: 'debug',
      ECS_ANYWHERE_LB_STATE_DIR: '/srv/with space',
      ECS_ANYWHERE_LB_MAPPING_FILE: '/etc/m.json',
      ECS_ANYWHERE_LB_DRY_RUN: 'true',
      ECS_ANYWHERE_LB_CONFIG: '/etc/a=b.env',
      EMPTY: '',
      HALF: '"quoted',
    });
  });

  it.each([
    ['no equals sign', 'ECS_ANYWHERE_LB_INTERFACE tun0', 1],
    ['a name starting with a digit', '# ok\n1BAD=x', 2],
    ['a flag instead of a variable', '\n\n--interface=tun0', 3],
  ])('rejects %s, naming the file and line', (_case, text, line) => {
    const err = configErrorOf(() => parseEnvFile(text, '/etc/agent.env'));
    expect(err.option).toBe('config');
    expect(err.message).toContain(`/etc/agent.env line ${line}: expected KEY=VALUE`);
  });
});

describe('precedence: flags > environment > config file > defaults', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lb-agent-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const writeConfig = (name: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };

  it('takes each option from the strongest source that sets it', () => {
    const file = writeConfig('agent.env', [
      '# written by the installer',
      `ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS="${ARN_A}"`,
      'export ECS_ANYWHERE_LB_RECONCILE_INTERVAL=10s',
      "ECS_ANYWHERE_LB_LOG_LEVEL='debug'",
      'ECS_ANYWHERE_LB_STATE_DIR=/from/file',
      'ECS_ANYWHERE_LB_ON_EXIT=keep',
      'AWS_REGION=us-east-1',
    ]);
    const env = {
      ECS_ANYWHERE_LB_LOG_LEVEL: 'warn',
      ECS_ANYWHERE_LB_STATE_DIR: '/from/env',
      ECS_ANYWHERE_LB_ON_EXIT: '', // empty: as if unset, the file's value stays
      PATH: '/usr/bin',
    };
    const flags = { config: file, 'state-dir': '/from/flag' };
    const config = buildConfig(resolveOptions(flags, env).options);
    expect({
      allowedTargetGroups: config.allowedTargetGroups,
      reconcileIntervalMs: config.reconcileIntervalMs,
      logLevel: config.logLevel,
      stateDir: config.stateDir,
      onExit: config.onExit,
      logFormat: config.logFormat,
    }).toEqual({
      allowedTargetGroups: [ARN_A],
      reconcileIntervalMs: 10_000,
      logLevel: 'warn',
      stateDir: '/from/flag',
      onExit: 'keep',
      logFormat: 'json',
    });
  });

  it('finds the config file through ECS_ANYWHERE_LB_CONFIG', () => {
    const file = writeConfig('from-env.env', ['ECS_ANYWHERE_LB_INTERFACE=wg0']);
    expect(resolveOptions({}, { ECS_ANYWHERE_LB_CONFIG: file }).options).toMatchObject({ interface: 'wg0' });
  });

  it('prefers --config over ECS_ANYWHERE_LB_CONFIG', () => {
    const fromFlag = writeConfig('flag.env', ['ECS_ANYWHERE_LB_INTERFACE=tun1']);
    const fromEnv = writeConfig('env.env', ['ECS_ANYWHERE_LB_INTERFACE=tun2']);
    expect(resolveOptions({ config: fromFlag }, { ECS_ANYWHERE_LB_CONFIG: fromEnv }).options.interface).toBe('tun1');
  });

  it('ignores variables in the file that are not agent options, and names the ECS_ANYWHERE_LB_* ones with their line', () => {
    const file = writeConfig('other.env', ['AWS_PROFILE=default', 'ECS_ANYWHERE_LB_NOT_AN_OPTION=1', 'ECS_ANYWHERE_LB_DRY_RUN=true']);
    const resolved = resolveOptions({ config: file }, { ECS_ANYWHERE_LB_LOG_LEVL: 'debug', ECS_ANYWHERE_LB_UNSET: undefined, PATH: '/bin' });
    expect(resolved.options).toStrictEqual({ config: file, 'dry-run': 'true' });
    expect(resolved.unknown).toEqual([
      { name: 'ECS_ANYWHERE_LB_NOT_AN_OPTION', where: `${file} line 2` },
      { name: 'ECS_ANYWHERE_LB_LOG_LEVL', where: 'environment' },
    ]);
  });

  it('names --config and the path when the file cannot be read', () => {
    const missing = join(dir, 'missing.env');
    const err = configErrorOf(() => resolveOptions({ config: missing }, {}));
    expect(err.option).toBe('--config (ECS_ANYWHERE_LB_CONFIG)');
    expect(err.message).toContain(missing);
  });

  it('names the file and line of a malformed config file', () => {
    const file = writeConfig('bad.env', ['ECS_ANYWHERE_LB_INTERFACE=tun0', 'this is not a setting']);
    expect(() => resolveOptions({ config: file }, {})).toThrow(`${file} line 2: expected KEY=VALUE`);
  });

  it('passes command-line options through parseCommandLine to the config', () => {
    const line = parseCommandLine(['run', '--allowed-target-groups', ARN_A, '--reconcile-interval=2m', '--dry-run']);
    const config = buildConfig(resolveOptions(line.options, { ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '5s', ECS_ANYWHERE_LB_DRY_RUN: 'false' }).options);
    expect([config.reconcileIntervalMs, config.dryRun]).toEqual([120_000, true]);
  });
});

describe('parseCommandLine', () => {
  const base = { args: [], unset: [], options: {}, help: false, version: false, json: false, all: false, apply: false, fleetClean: false };
  it.each<[string, string[], object]>([
    ['nothing', [], base],
    ['run', ['run'], { ...base, command: 'run' }],
    ['status --json', ['status', '--json'], { ...base, command: 'status', json: true }],
    ['check --json', ['--json', 'check'], { ...base, command: 'check', json: true }],
    ['deregister --all', ['deregister', '--all'], { ...base, command: 'deregister', all: true }],
    ['--help', ['--help'], { ...base, help: true }],
    ['-h after a command', ['run', '-h'], { ...base, command: 'run', help: true }],
    ['--version', ['--version'], { ...base, version: true }],
    ['--name value', ['run', '--host-ip', '10.0.0.5'], { ...base, command: 'run', options: { 'host-ip': '10.0.0.5' } }],
    ['--name=value', ['run', '--host-ip=10.0.0.5'], { ...base, command: 'run', options: { 'host-ip': '10.0.0.5' } }],
    ['--name=value with = in the value', ['--config=/etc/a=b.env'], { ...base, options: { config: '/etc/a=b.env' } }],
    ['--name= (empty value)', ['--interface='], { ...base, options: { interface: '' } }],
    ['options before the command', ['--log-level', 'debug', 'check'], { ...base, command: 'check', options: { 'log-level': 'debug' } }],
    ['a boolean alone', ['run', '--dry-run'], { ...base, command: 'run', options: { 'dry-run': 'true' } }],
    ['a boolean =false', ['run', '--dry-run=false'], { ...base, command: 'run', options: { 'dry-run': 'false' } }],
    ['a boolean does not take the next word', ['--include-non-ecs', '--log-level', 'warn'], { ...base, options: { 'include-non-ecs': 'true', 'log-level': 'warn' } }],
    ['a repeated option: the last wins', ['--log-level', 'debug', '--log-level=error'], { ...base, options: { 'log-level': 'error' } }],
    ['config validate', ['config', 'validate', '--config', '/etc/a.env'], { ...base, command: 'config', action: 'validate', options: { config: '/etc/a.env' } }],
    ['config set with pairs and --unset', ['config', 'set', '--config=/etc/a.env', 'LOG_LEVEL=debug', '--unset', 'HOST_IP', 'A=b=c', '--unset=X'],
      { ...base, command: 'config', action: 'set', args: ['LOG_LEVEL=debug', 'A=b=c'], unset: ['HOST_IP', 'X'], options: { config: '/etc/a.env' } }],
    ['config set with only --unset', ['config', 'set', '--unset', 'HOST_IP'], { ...base, command: 'config', action: 'set', unset: ['HOST_IP'] }],
    ['config set with nothing to change (checks the file alone)', ['config', 'set', '--config', 'f'], { ...base, command: 'config', action: 'set', options: { config: 'f' } }],
    ['config get', ['config', 'get', 'LOG_LEVEL'], { ...base, command: 'config', action: 'get', args: ['LOG_LEVEL'] }],
    ['iam-policy --target-groups sets the allowed groups', ['iam-policy', '--target-groups', 'A,B'], { ...base, command: 'iam-policy', options: { 'allowed-target-groups': 'A,B' } }],
    ['iam-policy --region', ['iam-policy', '--allow-any-target-group', '--region=eu-west-1'], { ...base, command: 'iam-policy', region: 'eu-west-1', options: { 'allow-any-target-group': 'true' } }],
    ['iam-policy --fleet-clean', ['iam-policy', '--fleet-clean', '--target-groups', 'A'], { ...base, command: 'iam-policy', fleetClean: true, options: { 'allowed-target-groups': 'A' } }],
    ['fleet status', ['fleet', 'status', '--cluster', 'edge', '--json'], { ...base, command: 'fleet', fleetAction: 'status', cluster: 'edge', json: true }],
    ['fleet clean --apply with groups, grace and region', ['fleet', 'clean', '--cluster=edge', '--target-groups', 'A,B', '--grace', '5m', '--region', 'eu-west-1', '--apply'],
      { ...base, command: 'fleet', fleetAction: 'clean', cluster: 'edge', grace: '5m', region: 'eu-west-1', apply: true, options: { 'allowed-target-groups': 'A,B' } }],
  ])('%s', (_case, argv, expected) => {
    expect(parseCommandLine(argv)).toStrictEqual(expected);
  });

  it('knows exactly the documented commands', () => {
    expect([...COMMANDS]).toEqual(['run', 'status', 'check', 'deregister', 'config', 'iam-policy', 'docker-proxy', 'fleet']);
  });

  it.each<[string, string[], string, string]>([
    ['an unknown option', ['run', '--bogus'], '--bogus', 'unknown option'],
    ['an unknown option with a value', ['--bogus=1'], '--bogus', 'unknown option'],
    ['a single-dash option', ['-v'], 'command', '"-v"'],
    ['a missing value at the end', ['run', '--host-ip'], '--host-ip', 'needs a value'],
    ['a missing value before another option', ['run', '--host-ip', '--dry-run'], '--host-ip', 'needs a value'],
    ['an unknown command', ['launch'], 'command', 'unknown command "launch"'],
    ['a second command', ['run', 'status'], 'command line', 'unexpected argument "status"'],
    ['a boolean followed by a word', ['run', '--dry-run', 'false'], 'command line', 'unexpected argument "false"'],
    ['a value for --json', ['status', '--json=yes'], '--json', 'takes no value'],
    ['a value for --help', ['--help=1'], '--help', 'takes no value'],
    ['config without an action', ['config'], 'config', 'needs validate, set, get'],
    ['config with an unknown action', ['config', 'edit'], 'config', 'unknown action "edit"'],
    ['config set with a word that is no pair', ['config', 'set', 'LOG_LEVEL'], 'config set', '"LOG_LEVEL" is not KEY=VALUE'],
    ['config get without a key', ['config', 'get'], 'config get', 'exactly one KEY'],
    ['config validate with a word', ['config', 'validate', 'agent.env'], 'command line', 'unexpected argument "agent.env"'],
    ['--unset outside config set', ['config', 'validate', '--unset', 'X'], '--unset', 'goes with config set'],
    ['--region outside iam-policy and fleet', ['check', '--region', 'eu-west-1'], '--region', 'goes with iam-policy or fleet'],
    ['--target-groups outside iam-policy and fleet', ['run', '--target-groups', 'A'], '--target-groups', 'goes with iam-policy or fleet'],
    ['fleet without an action', ['fleet', '--cluster', 'c'], 'fleet', 'needs status or clean'],
    ['fleet with an unknown action', ['fleet', 'purge'], 'fleet', 'unknown action "purge"'],
    ['--cluster outside fleet', ['status', '--cluster', 'c'], '--cluster', 'goes with fleet'],
    ['--apply outside fleet clean', ['fleet', 'status', '--apply'], '--apply', 'goes with fleet clean'],
    ['--fleet-clean outside iam-policy', ['fleet', 'clean', '--fleet-clean'], '--fleet-clean', 'goes with iam-policy'],
  ])('rejects %s', (_case, argv, option, fragment) => {
    const err = configErrorOf(() => parseCommandLine(argv));
    expect(err.option).toBe(option);
    expect(err.message).toContain(fragment);
  });
});

describe('helpText', () => {
  const help = helpText();
  const lines = help.split('\n');

  it.each(OPTIONS.map((o) => [o.name, o]))('lists --%s with its environment variable, default and help', (name, option) => {
    const at = lines.findIndex((l) => new RegExp(`^ {2}--${name}( |$)`).test(l));
    expect(at, `no line for --${name}`).toBeGreaterThanOrEqual(0);
    const envLine = lines[at + 1] ?? '';
    expect(envLine.trim().split(' ')[0]).toBe(envName(name));
    if (option.default !== undefined) expect(envLine).toContain(`(default ${option.default})`);
    expect(lines[at + 2]?.trim()).toBe(option.help);
    if (option.type === 'enum') expect(lines[at]).toContain(option.values?.join('|'));
  });

  it.each([...COMMANDS, '--version', '--help'])('mentions %s', (word) => {
    expect(lines.some((l) => l.startsWith(`  ${word} `))).toBe(true);
  });
});
