import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../agent/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'ecslb-config-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--config file AWS_* variables', () => {
  it('apply where the environment does not set them, as under systemd EnvironmentFile', () => {
    const file = join(dir, 'agent.env');
    writeFileSync(file, 'ECS_ANYWHERE_LB_ALLOW_ANY_TARGET_GROUP=true\nAWS_SHARED_CREDENTIALS_FILE=/etc/creds\nAWS_REGION=eu-west-1\nOTHER=ignored\n');
    const { options, env } = resolveOptions({ config: file }, { AWS_REGION: 'us-east-1', PATH: '/bin' });
    expect(options['allow-any-target-group']).toBe('true');
    expect(env.AWS_SHARED_CREDENTIALS_FILE).toBe('/etc/creds');
    expect(env.AWS_REGION).toBe('us-east-1');
    expect(env.OTHER).toBeUndefined();
    expect(env.PATH).toBe('/bin');
  });

  it('leave the environment untouched without a config file', () => {
    const env = { AWS_PROFILE: 'x' };
    expect(resolveOptions({ 'allow-any-target-group': 'true' }, env).env).toBe(env);
  });
});
