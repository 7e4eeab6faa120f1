// The SSM Distributor scripts (packaging/distributor/), as text: POSIX sh that shellcheck
// passes, and that read from their environment only what Distributor gives them (SSM_* keys of
// the association, BWS_* and AWS_SSM_INSTANCE_ID) and PATH: no variable of their own, so that no
// test hook can change what they do on a host. Running them is test/release/release-repositories.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { environmentReads } from '../support/shell-environment.ts';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packaging/distributor');
const scripts = readdirSync(DIR).filter((f) => f.endsWith('.sh')).sort();


describe('SSM Distributor scripts', () => {
  it('are install.sh, update.sh, uninstall.sh and the common.sh they source', () => {
    expect(scripts).toEqual(['common.sh', 'install.sh', 'uninstall.sh', 'update.sh']);
  });

  it.each(scripts)('%s reads only SSM_*, BWS_*, AWS_SSM_INSTANCE_ID and PATH from its environment', (name) => {
    // Each script runs with common.sh sourced: what that assigns is not read from the environment.
    const text = name === 'common.sh' ? readFileSync(path.join(DIR, name), 'utf8') : `${readFileSync(path.join(DIR, 'common.sh'), 'utf8')}\n${readFileSync(path.join(DIR, name), 'utf8')}`;
    for (const v of environmentReads(text)) {
      expect(v, `${name} reads ${v}`).toMatch(/^(SSM_[A-Z0-9_]+|BWS_[A-Z0-9_]+|AWS_SSM_INSTANCE_ID|PATH)$/);
    }
  });

  const shellcheck = spawnSync('shellcheck', ['--version']);
  it.skipIf(shellcheck.error !== undefined || shellcheck.status !== 0)('shellcheck -s sh passes', () => {
    const r = spawnSync('shellcheck', ['-s', 'sh', '-x', '-P', 'SCRIPTDIR', ...scripts], { cwd: DIR, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  const cfnLint = spawnSync('cfn-lint', ['--version']);
  it.skipIf(cfnLint.error !== undefined || cfnLint.status !== 0)('the State Manager association template passes cfn-lint, at 10% with at most 1 error', () => {
    const template = path.join(DIR, 'association.yaml');
    const r = spawnSync('cfn-lint', [template], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const text = readFileSync(template, 'utf8');
    expect(text).toContain("MaxConcurrency: '10%'");
    expect(text).toContain("MaxErrors: '1'");
    expect(text).toContain('Name: AWS-ConfigureAWSPackage');
    expect(text).toContain('installationType: [In-place update]');
  }, 120_000);
});
