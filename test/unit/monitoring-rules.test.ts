// monitoring/alerts.yaml passes Debian's promtool: `check rules` (syntax, templates) and
// `test rules` with monitoring/alerts.test.yaml (each alert fires on its series after its `for`).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../../scripts/generate/generated-files.ts';

function promtool(args: string[]) {
  const r = spawnSync('promtool', args, { cwd: repoPath('monitoring'), encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (Debian's prometheus package; scripts/install-ci-deps.sh installs it): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('monitoring/alerts.yaml', () => {
  it('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', 'alerts.yaml']);
    expect(r.output).toContain('SUCCESS: 6 rules found');
    expect(r.status).toBe(0);
  });

  it('passes promtool test rules (monitoring/alerts.test.yaml)', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yaml']);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
