// The configuration file as text: keys rewritten in place with every other line kept, the
// names `config set` accepts, unknown ECS_ANYWHERE_LB_* names (typos) with a suggestion, and
// the values the file can hold. Tables of text in, text out.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG_FILE, checkStorableValue, closestOption, configKey, editConfigFile, readConfigLines, unknownNames, unknownWarning,
} from '../../agent/config-file.ts';
import { ConfigError } from '../../agent/errors.ts';

const P = 'ECS_ANYWHERE_LB_';

describe('editConfigFile', () => {
  it.each<[string, string | undefined, [string, string][], string[], string, string[]]>([
    ['a new file starts from the default text', undefined, [[`${P}LOG_LEVEL`, 'debug']], [], `${DEFAULT_CONFIG_FILE}${P}LOG_LEVEL=debug\n`, [`set ${P}LOG_LEVEL=debug`]],
    ['a key is replaced where it stands, comments and order kept',
      `# mine\n${P}LOG_LEVEL=info\n\n# note\nAWS_REGION=eu-west-1\n`, [[`${P}LOG_LEVEL`, 'warn']], [],
      `# mine\n${P}LOG_LEVEL=warn\n\n# note\nAWS_REGION=eu-west-1\n`, [`set ${P}LOG_LEVEL=warn (was info)`]],
    ['export, spaces and quotes of the old line go; the new line is plain',
      `export ${P}INTERFACE = "tun0"\n`, [[`${P}INTERFACE`, 'wg0']], [], `${P}INTERFACE=wg0\n`, [`set ${P}INTERFACE=wg0 (was tun0)`]],
    // The last line was the one in force (as systemd reads it): same value, so no change to report.
    ['later duplicates of a set key go', `${P}DRY_RUN=true\nX=1\n${P}DRY_RUN=false\n`, [[`${P}DRY_RUN`, 'false']], [], `${P}DRY_RUN=false\nX=1\n`, []],
    ['new keys are appended in the order given', `A=1\n`, [[`${P}VPC_CIDR`, '10.0.0.0/16'], [`${P}HOST_IP`, '10.8.0.10']], [],
      `A=1\n${P}VPC_CIDR=10.0.0.0/16\n${P}HOST_IP=10.8.0.10\n`, [`set ${P}VPC_CIDR=10.0.0.0/16`, `set ${P}HOST_IP=10.8.0.10`]],
    ['unset removes every line of the key', `${P}HOST_IP=10.0.0.1\n# keep\n${P}HOST_IP=10.0.0.2\n`, [], [`${P}HOST_IP`], '# keep\n', [`removed ${P}HOST_IP (was 10.0.0.2)`]],
    ['unsetting an absent key changes nothing', `A=1\n`, [], [`${P}HOST_IP`], 'A=1\n', []],
    ['setting the same value changes nothing', `${P}LOG_LEVEL=info\n`, [[`${P}LOG_LEVEL`, 'info']], [], `${P}LOG_LEVEL=info\n`, []],
    ['a file without a final newline gets one', `A=1`, [[`${P}LOG_LEVEL`, 'info']], [], `A=1\n${P}LOG_LEVEL=info\n`, [`set ${P}LOG_LEVEL=info`]],
    ['set wins over unset of the same key', `${P}LOG_LEVEL=info\n`, [[`${P}LOG_LEVEL`, 'warn']], [`${P}LOG_LEVEL`], `${P}LOG_LEVEL=warn\n`, [`set ${P}LOG_LEVEL=warn (was info)`]],
  ])('%s', (_case, before, set, unset, after, changes) => {
    const edit = editConfigFile(before, set, unset, 'agent.env');
    expect(edit.text).toBe(after);
    expect(edit.changes).toEqual(changes);
  });

  it('refuses to edit a file with a malformed line, naming it', () => {
    expect(() => editConfigFile('A=1\nnot a setting\n', [[`${P}LOG_LEVEL`, 'info']], [], 'agent.env')).toThrow('agent.env line 2: expected KEY=VALUE');
  });

  it('the default text sets nothing', () => {
    expect(readConfigLines(DEFAULT_CONFIG_FILE, 'default')).toEqual([]);
  });
});

describe('configKey', () => {
  it.each<[string, string, boolean, string]>([
    ['a short name gets the prefix', 'LOG_LEVEL', false, `${P}LOG_LEVEL`],
    ['a full option name stays', `${P}HOST_IP`, false, `${P}HOST_IP`],
    ['AWS_* names stay', 'AWS_SHARED_CREDENTIALS_FILE', false, 'AWS_SHARED_CREDENTIALS_FILE'],
    ['an unknown name is accepted for removal', `${P}RECONCILE_INTERVALL`, true, `${P}RECONCILE_INTERVALL`],
  ])('%s', (_case, name, anyName, key) => {
    expect(configKey(name, anyName)).toBe(key);
  });

  it.each<[string, string, RegExp]>([
    ['a typo of an option', 'RECONCILE_INTERVALL', /not an option of this agent \(did you mean ECS_ANYWHERE_LB_RECONCILE_INTERVAL\?\)/],
    ['a name that is no option at all', 'NO_SUCH_OPTION', /ECS_ANYWHERE_LB_NO_SUCH_OPTION: not an option of this agent; /],
    ['the config file naming itself', 'CONFIG', /cannot be set in the configuration file itself/],
    ['a flag instead of a name', '--log-level', /is not a variable name/],
  ])('refuses %s', (_case, name, message) => {
    expect(() => configKey(name)).toThrow(ConfigError);
    expect(() => configKey(name)).toThrow(message);
  });
});

describe('unknown names', () => {
  it.each<[string, string | undefined]>([
    [`${P}RECONCILE_INTERVALL`, `${P}RECONCILE_INTERVAL`],
    [`${P}INTRFACE`, `${P}INTERFACE`],
    [`${P}ALLOWED_TARGET_GROUP`, `${P}ALLOWED_TARGET_GROUPS`],
    [`${P}TARGET_GROUPS`, undefined],
    [`${P}NO_SUCH_OPTION`, undefined],
  ])('%s: did you mean %s', (name, meant) => {
    expect(closestOption(name)).toBe(meant);
  });

  it('are the ECS_ANYWHERE_LB_* names that set no option, each with where it was found', () => {
    expect(unknownNames([[`${P}LOG_LEVEL`, 'environment'], [`${P}LOG_LEVL`, 'agent.env line 3'], ['AWS_REGION', 'environment'], ['PATH', 'environment']]))
      .toEqual([{ name: `${P}LOG_LEVL`, where: 'agent.env line 3' }]);
    expect(unknownWarning({ name: `${P}LOG_LEVL`, where: 'agent.env line 3' }))
      .toBe(`${P}LOG_LEVL (agent.env line 3) is not an option of this agent and is ignored; did you mean ${P}LOG_LEVEL?`);
  });
});

describe('checkStorableValue', () => {
  it.each(['10.0.0.0/16,172.31.0.0/16', '/etc/ecs-anywhere-lb-agent/mapping.json', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef', 'change=8:40'])('accepts %s', (value) => {
    expect(() => checkStorableValue('K', value)).not.toThrow();
  });

  it.each([['a space', '/etc/my map.json'], ['a quote', '"x"'], ['a dollar', '$HOME'], ['a hash', 'a#b'], ['a backslash', 'a\\b'], ['a tab', 'a\tb']])('refuses %s', (_case, value) => {
    expect(() => checkStorableValue('K', value)).toThrow(/which the configuration file cannot hold/);
  });

  it('refuses an empty value, pointing at --unset', () => {
    expect(() => checkStorableValue('K', '')).toThrow(/use --unset/);
  });
});
