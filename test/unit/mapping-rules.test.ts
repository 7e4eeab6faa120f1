// The mapping file's rules at start, in a real temporary directory: a good file is copied to
// the state directory; a damaged one stops every command (exit 78) except `run` with a copy
// of this file's last good version, which runs with it and says so.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mappingRules } from '../../agent/commands/mapping-rules.ts';
import { buildConfig } from '../../agent/config.ts';
import { ConfigError } from '../../agent/errors.ts';
import type { Log } from '../../agent/log.ts';
import { MAPPING_COPY_FILE, readMappingCopy, saveMappingCopy } from '../../agent/state/mapping-copy.ts';
import { waitFor } from '../support/wait.ts';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const RULE = { family: 'web', containerName: 'app', targetGroupArn: ARN };

let dir: string;
let path: string;
let stateDir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lb-agent-mapping-rules-'));
  path = join(dir, 'mapping.json');
  stateDir = join(dir, 'state');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = () => buildConfig({ 'allowed-target-groups': ARN, 'state-dir': stateDir, 'mapping-file': path });
const logger = () => {
  const lines: { level: string; message: string }[] = [];
  const log: Log = { error: (message) => lines.push({ level: 'error', message }), warn: () => {}, info: () => {}, debug: () => {}, child: () => log };
  return { log, lines };
};

describe('mappingRules', () => {
  it('reads a good file and keeps a copy of it for `run`', async () => {
    await writeFile(path, JSON.stringify({ mappings: [RULE] }));
    const rules = await mappingRules(config(), 'run', logger().log);
    expect(rules?.current()).toStrictEqual([RULE]);
    const copy = await waitFor(() => readMappingCopy(stateDir, path), { description: 'copy saved' });
    expect(copy.json).toStrictEqual({ mappings: [RULE] });
  });

  it('runs with the last good copy when the file is damaged at start, and says so', async () => {
    await saveMappingCopy(stateDir, path, [RULE], new Date('2026-12-02T01:00:00Z'));
    await writeFile(path, '{"mappings": [{"fam');
    const { log, lines } = logger();
    const rules = await mappingRules(config(), 'run', log);
    expect(rules?.current()).toStrictEqual([RULE]);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toMatch(new RegExp(`^invalid --mapping-file \\(ECS_ANYWHERE_LB_MAPPING_FILE\\): ${path} is not valid JSON: .*; running with its last good version \\(1 rule\\(s\\), saved 2026-12-02T01:00:00.000Z\\) until it is fixed$`));
    // The copy is not replaced by the damaged file.
    expect(JSON.parse(await readFile(join(stateDir, MAPPING_COPY_FILE), 'utf8'))).toMatchObject({ source: path, mappings: [RULE] });
  });

  it.each([
    ['run, without a copy', 'run', false],
    ['status, even with a copy', 'status', true],
    ['check, even with a copy', 'check', true],
  ])('stops %s with the ConfigError naming the file', async (_case, command, withCopy) => {
    if (withCopy) await saveMappingCopy(stateDir, path, [RULE]);
    await writeFile(path, JSON.stringify({ mappings: [{ ...RULE, targetGroupArn: 'tg-web' }] }));
    const err = await mappingRules(config(), command, logger().log).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(`${path}: mappings[0].targetGroupArn: "tg-web" is not a target group ARN`);
  });

  it('uses no copy of another mapping file, nor a damaged copy', async () => {
    await saveMappingCopy(stateDir, '/etc/other.json', [RULE]);
    expect(await readMappingCopy(stateDir, path)).toBeUndefined();
    await writeFile(join(stateDir, MAPPING_COPY_FILE), '{"source":');
    expect(await readMappingCopy(stateDir, path)).toBeUndefined();
  });
});
