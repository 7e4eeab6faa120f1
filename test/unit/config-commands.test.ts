// `config validate`, `config set`, `config get` and `iam-policy` on real files in a temporary
// directory: what they print, their exit status, and the file they leave behind.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../agent/cli.ts';
import { configGet, configSet, configValidate, printIamPolicy, type Output } from '../../agent/commands/config.ts';
import { DEFAULT_CONFIG_FILE } from '../../agent/config-file.ts';

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const P = 'ECS_ANYWHERE_LB_';
const dir = mkdtempSync(join(tmpdir(), 'ecslb-config-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A config file with these lines (none: the path of a file that does not exist). */
function file(lines?: string[]): string {
  const path = join(dir, `agent-${++n}.env`);
  if (lines) writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Output = { out: (t) => out.push(t), err: (t) => err.push(t) };
  const cli = parseCommandLine(argv);
  const code = cli.command === 'iam-policy' ? printIamPolicy(cli, env, io)
    : cli.action === 'set' ? await configSet(cli, env, io)
      : cli.action === 'get' ? await configGet(cli, env, io)
        : await configValidate(cli, env, io);
  return { code, out: out.join(''), err: err.join('') };
}

describe('config validate', () => {
  it('passes a valid file', async () => {
    const f = file([`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}INTERFACE=tun0`]);
    expect(await run(['config', 'validate', '--config', f])).toEqual({ code: 0, out: `valid: ${f}\n`, err: '' });
  });

  it.each<[string, string[], Record<string, string>, RegExp[]]>([
    ['a typo in the file, with its line and the option meant', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}RECONCILE_INTERVALL=30s`], {},
      [/invalid ECS_ANYWHERE_LB_RECONCILE_INTERVALL \(.*line 2\): not an option of this agent \(did you mean ECS_ANYWHERE_LB_RECONCILE_INTERVAL\?\)/]],
    ['a typo in the environment', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`], { [`${P}INTRFACE`]: 'tun0' }, [/invalid ECS_ANYWHERE_LB_INTRFACE \(environment\): not an option/]],
    ['every problem at once: a typo and a bad value', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}NO_SUCH_OPTION=1`, `${P}RECONCILE_INTERVAL=500ms`], {},
      [/ECS_ANYWHERE_LB_NO_SUCH_OPTION/, /invalid --reconcile-interval \(ECS_ANYWHERE_LB_RECONCILE_INTERVAL\): 500ms is shorter than the minimum 1000 ms/]],
    ['a health threshold below two reconcile intervals', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}HEALTH_THRESHOLD=90s`], {}, [/--health-threshold .*shorter than twice --reconcile-interval/]],
    ['a missing mapping file', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}MAPPING_FILE=${join(dir, 'none.json')}`], {}, [/invalid --mapping-file .*cannot read .*none\.json/]],
    ['an AWS_REGION that is no region', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`, 'AWS_REGION=Ireland'], {}, [/invalid AWS_REGION: "Ireland" is not an AWS region/]],
    ['no target groups', [`${P}LOG_LEVEL=info`], {}, [/invalid --allowed-target-groups .*required/]],
  ])('refuses %s with exit 78', async (_case, lines, env, messages) => {
    const r = await run(['config', 'validate', '--config', file(lines)], env);
    expect(r.code).toBe(78);
    expect(r.out).toBe('');
    for (const m of messages) expect(r.err).toMatch(m);
  });

  it('warns about a key set twice (the last counts) but passes', async () => {
    const f = file([`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}LOG_LEVEL=debug`, `${P}LOG_LEVEL=info`]);
    const r = await run(['config', 'validate', '--config', f]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`warning: ${P}LOG_LEVEL is set on lines 2, 3 of ${f}; the last one counts`);
  });
});

describe('config set', () => {
  it('creates a file from the default text, mode 0640', async () => {
    const f = file();
    const r = await run(['config', 'set', '--config', f, `ALLOWED_TARGET_GROUPS=${ARN}`, 'LOG_LEVEL=debug']);
    expect(r).toEqual({ code: 0, err: '', out: `set ${P}ALLOWED_TARGET_GROUPS=${ARN}\nset ${P}LOG_LEVEL=debug\ncreated ${f}\n` });
    expect(readFileSync(f, 'utf8')).toBe(`${DEFAULT_CONFIG_FILE}${P}ALLOWED_TARGET_GROUPS=${ARN}\n${P}LOG_LEVEL=debug\n`);
    expect(statSync(f).mode & 0o777).toBe(0o640);
  });

  it('rewrites only the named keys, keeping comments, other lines and the mode; --unset removes', async () => {
    const f = file(['# my note', `${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}HOST_IP=10.8.0.10`, 'HTTPS_PROXY=http://proxy:3128', `${P}LOG_LEVEL=info`]);
    chmodSync(f, 0o600);
    const r = await run(['config', 'set', '--config', f, 'INTERFACE=tun0', '--unset', 'HOST_IP', `${P}LOG_LEVEL=warn`]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`set ${P}INTERFACE=tun0\nset ${P}LOG_LEVEL=warn (was info)\nremoved ${P}HOST_IP (was 10.8.0.10)\nupdated ${f}\n`);
    expect(readFileSync(f, 'utf8')).toBe(`# my note\n${P}ALLOWED_TARGET_GROUPS=${ARN}\nHTTPS_PROXY=http://proxy:3128\n${P}LOG_LEVEL=warn\n${P}INTERFACE=tun0\n`);
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it('leaves an identical file untouched', async () => {
    const f = file([`${P}ALLOWED_TARGET_GROUPS=${ARN}`]);
    const before = statSync(f).mtimeMs;
    expect(await run(['config', 'set', '--config', f, `ALLOWED_TARGET_GROUPS=${ARN}`])).toEqual({ code: 0, err: '', out: `unchanged: ${f}\n` });
    expect(statSync(f).mtimeMs).toBe(before);
  });

  it('with nothing to change only judges the file, as the unit reads it', async () => {
    const f = file([`${P}ALLOWED_TARGET_GROUPS=${ARN}`]);
    expect(await run(['config', 'set', '--config', f])).toEqual({ code: 0, err: '', out: `unchanged: ${f}\n` });
    const missing = file();
    const r = await run(['config', 'set', '--config', missing]);
    expect(r.code).toBe(78);
    expect(r.err).toMatch(/--allowed-target-groups .*required/);
    expect(existsSync(missing)).toBe(false);
  });

  it('names the file it cannot write (not a configuration error)', async () => {
    await expect(run(['config', 'set', '--config', join(dir, 'no-such-dir', 'agent.env'), `ALLOWED_TARGET_GROUPS=${ARN}`])).rejects.toThrow(/^cannot write .*no-such-dir\/agent\.env: ENOENT/);
  });

  it('removes a typo with --unset', async () => {
    const f = file([`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}RECONCILE_INTERVALL=30s`]);
    expect((await run(['config', 'set', '--config', f, '--unset', 'RECONCILE_INTERVALL', 'RECONCILE_INTERVAL=30s'])).code).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(`${P}ALLOWED_TARGET_GROUPS=${ARN}\n${P}RECONCILE_INTERVAL=30s\n`);
  });

  // Each invalid result leaves the file byte for byte as it was (or absent), with the agent's message and exit 78.
  it.each<[string, string[] | undefined, string[], RegExp]>([
    ['a public host address', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`], ['HOST_IP=8.8.8.8'], /invalid --host-ip .*cannot target 8\.8\.8\.8: public address/],
    ['both an address and an interface', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}INTERFACE=tun0`], ['HOST_IP=10.8.0.10'], /not both/],
    ['an unknown option', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`], ['NO_SUCH_OPTION=1'], /invalid ECS_ANYWHERE_LB_NO_SUCH_OPTION: not an option of this agent/],
    ['a value the file cannot hold', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`], ['MAPPING_FILE=/etc/my map.json'], /contains whitespace/],
    ['a typo already in the file', [`${P}ALLOWED_TARGET_GROUPS=${ARN}`, `${P}LOG_LEVL=debug`], ['LOG_LEVEL=debug'], /ECS_ANYWHERE_LB_LOG_LEVL \(.* line 2\)/],
    ['a new file without target groups', undefined, ['LOG_LEVEL=debug'], /--allowed-target-groups .*required/],
  ])('refuses %s', async (_case, lines, pairs, message) => {
    const f = file(lines);
    const before = existsSync(f) ? readFileSync(f) : undefined;
    const r = await run(['config', 'set', '--config', f, ...pairs]).catch((err: Error) => ({ code: 78, out: '', err: err.message }));
    expect(r.code).toBe(78);
    expect(r.err).toMatch(message);
    expect(existsSync(f) ? readFileSync(f) : undefined).toEqual(before);
  });
});

describe('config get', () => {
  it('prints the value in force (the last line), exit 1 when the file sets none', async () => {
    const f = file([`${P}LOG_LEVEL=debug`, `export ${P}LOG_LEVEL="info"`]);
    expect(await run(['config', 'get', '--config', f, 'LOG_LEVEL'])).toEqual({ code: 0, out: 'info\n', err: '' });
    expect(await run(['config', 'get', '--config', f, 'INTERFACE'])).toEqual({ code: 1, out: '', err: '' });
    expect(await run(['config', 'get', '--config', file(), 'INTERFACE'])).toEqual({ code: 1, out: '', err: '' });
  });
});

describe('config set and get mask secrets', () => {
  const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLETOKEN';

  it.each([['AWS_SECRET_ACCESS_KEY', SECRET], ['AWS_SESSION_TOKEN', TOKEN]])('%s: never printed, its length shown', async (key, value) => {
    const f = file([`${P}ALLOWED_TARGET_GROUPS=${ARN}`]);
    const set = await run(['config', 'set', '--config', f, `${key}=${value}`]);
    expect(set.code).toBe(0);
    expect(set.out).toContain(`set ${key}=<hidden, ${value.length} characters>`);
    const changed = await run(['config', 'set', '--config', f, `${key}=${value}2`]);
    expect(changed.out).toContain(`set ${key}=<hidden, ${value.length + 1} characters> (was <hidden, ${value.length} characters>)`);
    const removed = await run(['config', 'set', '--config', f, '--unset', key]);
    expect(removed.out).toContain(`removed ${key} (was <hidden, ${value.length + 1} characters>)`);
    await run(['config', 'set', '--config', f, `${key}=${value}`]);
    expect(await run(['config', 'get', '--config', f, key])).toEqual({ code: 0, out: `<hidden, ${value.length} characters>\n`, err: '' });
    for (const r of [set, changed, removed]) expect(`${r.out}${r.err}`).not.toContain(value);
    // The file itself holds the value: the agent reads it.
    expect(readFileSync(f, 'utf8')).toContain(`${key}=${value}\n`);
  });

  it('prints other AWS values as they are', async () => {
    const f = file([`${P}ALLOWED_TARGET_GROUPS=${ARN}`]);
    expect((await run(['config', 'set', '--config', f, 'AWS_ACCESS_KEY_ID=AKIDEXAMPLE'])).out).toContain('set AWS_ACCESS_KEY_ID=AKIDEXAMPLE');
  });
});

describe('iam-policy', () => {
  const resources = (out: string) => (JSON.parse(out) as { Statement: { Resource: unknown }[] }).Statement[0]?.Resource;

  it('takes the groups from --target-groups, or from the config file like run', async () => {
    expect(resources((await run(['iam-policy', '--target-groups', ARN])).out)).toEqual([ARN]);
    expect(resources((await run(['iam-policy', '--config', file([`${P}ALLOWED_TARGET_GROUPS=${ARN}`])])).out)).toEqual([ARN]);
    expect(resources((await run(['iam-policy', '--allow-any-target-group', '--region', 'eu-west-1', '--account', '123456789012'])).out)).toEqual(['arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/*']);
    expect(resources((await run(['iam-policy', '--config', file([`${P}ALLOW_ANY_TARGET_GROUP=true`, 'AWS_REGION=us-gov-west-1', 'AWS_ACCOUNT_ID=123456789012'])])).out))
      .toEqual(['arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:targetgroup/*']);
  });

  it('--tag-scoped grants the tagged groups of --region and --account', async () => {
    const policy = JSON.parse((await run(['iam-policy', '--tag-scoped', 'lb=edge', '--region', 'eu-west-1', '--account', '123456789012'])).out) as { Statement: { Resource: unknown; Condition?: unknown }[] };
    expect(policy.Statement[0]).toMatchObject({ Resource: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/*', Condition: { StringEquals: { 'aws:ResourceTag/lb': 'edge' } } });
  });

  it.each<[string, string[], RegExp]>([
    ['a malformed ARN', ['iam-policy', '--target-groups', 'arn:aws:elasticloadbalancing:eu-west-1:1234:targetgroup/web/abc'], /invalid --target-groups .*is not a target group ARN/],
    ['no groups', ['iam-policy'], /invalid --target-groups .*required/],
    ['any group without a region', ['iam-policy', '--allow-any-target-group'], /invalid --region \(AWS_REGION\): required/],
    ['any group without an account', ['iam-policy', '--allow-any-target-group', '--region', 'eu-west-1'], /invalid --account \(AWS_ACCOUNT_ID\): required/],
    ['a tag without =', ['iam-policy', '--tag-scoped', 'lb', '--region', 'eu-west-1', '--account', '123456789012'], /invalid --tag-scoped/],
  ])('refuses %s', async (_case, argv, message) => {
    await expect(run(argv)).rejects.toThrow(message);
  });
});
