// The mapping file: validation that names mappings[i].field, reading from disk, and which
// rules a container (task family + container name) matches.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../agent/errors.ts';
import { MappingFileRules, loadMappingFile, parseMappingRules, requestsFromRules, type MappingRule } from '../../agent/mapping/mapping-file.ts';
import type { Log } from '../../agent/log.ts';

const ARN_WEB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const ARN_ADMIN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/admin/00000000000000aa';
const ARN_API = 'arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/api/fedcba9876543210';
const OPTION = '--mapping-file (ECS_ANYWHERE_LB_MAPPING_FILE)';
const SOURCE = '/etc/ecs-anywhere-lb-agent/mapping.json';

const valid = { family: 'web', containerName: 'app', targetGroupArn: ARN_WEB };

/** The ConfigError a parse throws. */
function parseError(json: unknown): ConfigError {
  try {
    parseMappingRules(json, SOURCE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseMappingRules', () => {
  it('reads valid entries, trimming names and keeping containerPort only when given', () => {
    const rules = parseMappingRules(
      {
        mappings: [
          { family: 'web', containerName: 'app', targetGroupArn: ARN_WEB, containerPort: 8080 },
          { family: ' api ', containerName: '\tserver ', targetGroupArn: ` ${ARN_API} ` },
          { ...valid, targetGroupArn: ARN_ADMIN, containerPort: 9090, comment: 'unknown keys are ignored' },
        ],
      },
      SOURCE,
    );
    expect(rules).toStrictEqual([
      { family: 'web', containerName: 'app', targetGroupArn: ARN_WEB, containerPort: 8080 },
      { family: 'api', containerName: 'server', targetGroupArn: ARN_API },
      { family: 'web', containerName: 'app', targetGroupArn: ARN_ADMIN, containerPort: 9090 },
    ]);
  });

  it('accepts an empty list', () => {
    expect(parseMappingRules({ mappings: [] }, SOURCE)).toEqual([]);
  });

  it.each([1, 65535])('accepts containerPort %d', (port) => {
    expect(parseMappingRules({ mappings: [{ ...valid, containerPort: port }] }, SOURCE)[0]?.containerPort).toBe(port);
  });

  // [case, JSON, where the error points, fragment of the message]
  const invalid: [string, unknown, string, string][] = [
    ['null', null, 'top level', '"mappings" array'],
    ['an array', [valid], 'top level', '"mappings" array'],
    ['a string', 'mappings', 'top level', '"mappings" array'],
    ['mappings as an object', { mappings: { 0: valid } }, 'top level', '"mappings" array'],
    ['no mappings key', { rules: [valid] }, 'top level', '"mappings" array'],
    ['an entry that is null', { mappings: [null] }, 'mappings[0]', 'expected an object'],
    ['an entry that is a string', { mappings: [valid, 'web=app'] }, 'mappings[1]', 'expected an object'],
    ['a missing family', { mappings: [valid, { containerName: 'app', targetGroupArn: ARN_WEB }] }, 'mappings[1].family', 'required non-empty string'],
    ['a blank family', { mappings: [{ ...valid, family: '  ' }] }, 'mappings[0].family', 'required non-empty string'],
    ['a numeric family', { mappings: [{ ...valid, family: 5 }] }, 'mappings[0].family', 'required non-empty string'],
    ['a missing containerName', { mappings: [valid, valid, { family: 'web', targetGroupArn: ARN_WEB }] }, 'mappings[2].containerName', 'required non-empty string'],
    ['an empty containerName', { mappings: [{ ...valid, containerName: '' }] }, 'mappings[0].containerName', 'required non-empty string'],
    ['a missing targetGroupArn', { mappings: [{ family: 'web', containerName: 'app' }] }, 'mappings[0].targetGroupArn', 'required non-empty string'],
    ['a target group name instead of an ARN', { mappings: [{ ...valid, targetGroupArn: 'web' }] }, 'mappings[0].targetGroupArn', '"web" is not a target group ARN'],
    ['a load balancer ARN', { mappings: [{ ...valid, targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef' }] }, 'mappings[0].targetGroupArn', 'not a target group ARN'],
    ['containerPort 0', { mappings: [{ ...valid, containerPort: 0 }] }, 'mappings[0].containerPort', '0 is not a port number'],
    ['containerPort 65536', { mappings: [{ ...valid, containerPort: 65536 }] }, 'mappings[0].containerPort', '65536 is not a port number'],
    ['a fractional containerPort', { mappings: [{ ...valid, containerPort: 80.5 }] }, 'mappings[0].containerPort', '80.5 is not a port number'],
    ['containerPort as text', { mappings: [valid, { ...valid, containerPort: '8080' }] }, 'mappings[1].containerPort', '"8080" is not a port number'],
    ['containerPort null', { mappings: [{ ...valid, containerPort: null }] }, 'mappings[0].containerPort', 'null is not a port number'],
  ];

  it.each(invalid)('rejects %s, naming %s', (_case, json, where, fragment) => {
    const err = parseError(json);
    expect(err.option).toBe(OPTION);
    expect(err.message).toContain(`${SOURCE}: ${where}: `);
    expect(err.message).toContain(fragment);
  });

  it('reports the first bad field of an entry with several', () => {
    expect(parseError({ mappings: [{ containerPort: 0 }] }).message).toContain('mappings[0].family');
  });
});

describe('loadMappingFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lb-agent-mapping-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and validates a file', async () => {
    const path = join(dir, 'mapping.json');
    await writeFile(path, JSON.stringify({ mappings: [{ ...valid, containerPort: 8080 }] }, null, 2));
    expect(await loadMappingFile(path)).toStrictEqual([{ ...valid, containerPort: 8080 }]);
  });

  it('names the option and the path when the file is missing', async () => {
    const path = join(dir, 'missing.json');
    const err = await loadMappingFile(path).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toBe(OPTION);
    expect((err as ConfigError).message).toContain(`cannot read ${path}`);
  });

  it.each([
    ['not JSON', 'family=web'],
    ['truncated JSON', '{"mappings": [{"family": "web"'],
    ['an empty file', ''],
  ])('names the option and the path for %s', async (_case, text) => {
    const path = join(dir, 'bad.json');
    await writeFile(path, text);
    const err = await loadMappingFile(path).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toBe(OPTION);
    expect((err as ConfigError).message).toContain(`${path} is not valid JSON`);
  });

  it('names the path and the entry for a valid JSON file with a bad entry', async () => {
    const path = join(dir, 'entry.json');
    await writeFile(path, JSON.stringify({ mappings: [valid, { ...valid, targetGroupArn: 'tg-web' }] }));
    await expect(loadMappingFile(path)).rejects.toThrow(`${path}: mappings[1].targetGroupArn: "tg-web" is not a target group ARN`);
  });
});

describe('MappingFileRules', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lb-agent-mapping-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const logger = () => {
    const lines: { level: string; message: string }[] = [];
    const log: Log = {
      error: (message) => lines.push({ level: 'error', message }),
      warn: (message) => lines.push({ level: 'warn', message }),
      info: (message) => lines.push({ level: 'info', message }),
      debug: () => {},
      child: () => log,
    };
    return { log, lines };
  };

  it('takes a good new version, and says nothing changed when the rules are the same', async () => {
    const path = join(dir, 'mapping.json');
    const { log, lines } = logger();
    const rules = new MappingFileRules(path, [valid], log);
    await writeFile(path, JSON.stringify({ mappings: [valid] }));
    expect(await rules.reload()).toBe(false);
    await writeFile(path, JSON.stringify({ mappings: [valid, { ...valid, containerName: 'other' }] }));
    expect(await rules.reload()).toBe(true);
    expect(rules.current()).toStrictEqual([valid, { ...valid, containerName: 'other' }]);
    expect(lines).toEqual([{ level: 'info', message: `mapping file ${path} reloaded: 2 rule(s)` }]);
  });

  it.each([
    ['garbage', 'x\u0000{', 'is not valid JSON'],
    ['a half-saved edit', '{"mappings": [{"family": "web",', 'is not valid JSON'],
    ['a bad entry', JSON.stringify({ mappings: [{ ...valid, targetGroupArn: 'tg-web' }] }), 'mappings[0].targetGroupArn: "tg-web" is not a target group ARN'],
    ['no file', undefined, 'cannot read'],
  ])('keeps the last good rules on %s, logging the file and the error', async (_case, text, error) => {
    const path = join(dir, 'mapping.json');
    if (text !== undefined) await writeFile(path, text);
    const { log, lines } = logger();
    const rules = new MappingFileRules(path, [valid], log);
    expect(await rules.reload()).toBe(false);
    expect(rules.current()).toStrictEqual([valid]);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('error');
    expect(lines[0]?.message).toMatch(new RegExp(`^cannot reload the mapping file ${path}: .*${error.replace(/[[\].]/g, '\\$&')}.*; keeping the last good mapping \\(1 rule\\(s\\)\\)$`));
  });
});

describe('requestsFromRules', () => {
  const rules: MappingRule[] = [
    { family: 'web', containerName: 'app', targetGroupArn: ARN_WEB, containerPort: 8080 },
    { family: 'web', containerName: 'app', targetGroupArn: ARN_ADMIN, containerPort: 9090 },
    { family: 'web', containerName: 'sidecar', targetGroupArn: ARN_API },
    { family: 'api', containerName: 'app', targetGroupArn: ARN_API },
  ];

  it.each<[string, string | undefined, string | undefined, object[]]>([
    [
      'family and name both match: every matching rule, in file order',
      'web',
      'app',
      [
        { targetGroupArn: ARN_WEB, containerPort: 8080, source: 'mapping-file' },
        { targetGroupArn: ARN_ADMIN, containerPort: 9090, source: 'mapping-file' },
      ],
    ],
    ['a rule without a port gives a request without one', 'web', 'sidecar', [{ targetGroupArn: ARN_API, source: 'mapping-file' }]],
    ['the same container name in another family', 'api', 'app', [{ targetGroupArn: ARN_API, source: 'mapping-file' }]],
    ['the family matches, the name does not', 'web', 'worker', []],
    ['the name matches, the family does not', 'batch', 'app', []],
    ['matching is case-sensitive', 'Web', 'app', []],
    ['no family label (not an ECS container)', undefined, 'app', []],
    ['no container-name label', 'web', undefined, []],
  ])('%s', (_case, family, name, expected) => {
    expect(requestsFromRules(rules, family, name)).toStrictEqual(expected);
  });

  it('gives nothing without rules', () => {
    expect(requestsFromRules([], 'web', 'app')).toEqual([]);
  });
});
