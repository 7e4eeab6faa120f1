// The documentation: docs/ builds as a site with Debian's
// mkdocs (--strict: a broken link or a page left out of the nav fails); the configuration page
// names every option; the stack's page names every parameter of the template; and the agent
// commands the pages promise run as written (against a scratch config file).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPTIONS, envName } from '../../agent/config-options.ts';
import { repoPath } from '../../scripts/generate/generated-files.ts';
import { ensureAgentBundle } from '../support/agent-process.ts';

const read = (file: string) => readFileSync(repoPath(file), 'utf8');
const pages = ['README.md', ...readdirSync(repoPath('docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const scratch = mkdtempSync(join(tmpdir(), 'ecslb-docs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the docs site', () => {
  it('builds with mkdocs build --strict', () => {
    const r = spawnSync('mkdocs', ['build', '--strict', '--site-dir', join(scratch, 'site')], { cwd: repoPath('.'), encoding: 'utf8' });
    if (r.error) throw new Error(`mkdocs is not installed (scripts/install-ci-deps.sh installs Debian's mkdocs): ${r.error.message}`);
    expect(r.stderr).not.toMatch(/WARNING/);
    expect(r.status).toBe(0);
  }, 60_000);
});

describe('docs/configuration.md', () => {
  const page = read('docs/configuration.md');
  it.each(OPTIONS.map((o) => [o.name]))('documents --%s and its environment variable', (name) => {
    const row = page.split('\n').find((l) => l.startsWith(`| \`--${name}`));
    expect(row, `a table row for --${name}`).toBeDefined();
    expect(row).toContain(`\`${envName(name)}\``);
  });
});

describe('docs/aws-setup.md', () => {
  const template = read('cloudformation/ecs-anywhere-lb.yaml');
  const parameters = [...template.slice(template.indexOf('\nParameters:'), template.indexOf('\nRules:')).matchAll(/^ {2}(\w+):$/gm)].map((m) => m[1] ?? '');
  it('names every parameter of the stack', () => {
    expect(parameters.length).toBeGreaterThan(20);
    const page = read('docs/aws-setup.md');
    expect(parameters.filter((p) => !page.includes(`\`${p}\``) && !page.includes(`\`...${p.slice(-1)}\``))).toEqual([]);
  });
});

describe('npm scripts the pages name', () => {
  const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
  const named = [...new Set(pages.flatMap((file) => [...read(file).matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1] ?? '')))].sort();
  it('exist in package.json', () => {
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((n) => !scripts.includes(n))).toEqual([]);
  });
});

describe('agent commands the pages promise', () => {
  // Every `ecs-anywhere-lb-agent config ...` and `iam-policy` command of a sh block, continuation lines joined.
  const commands = pages.flatMap((file) => [...read(file).matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => (m[1] ?? '').replace(/\\\n\s*/g, '').split('\n'))
    .map((l) => l.replace(/#.*$/, '').replace(/^sudo /, '').replace(/^\.\/ecs-anywhere-lb-agent-linux-x64 /, 'ecs-anywhere-lb-agent ').trim())
    .filter((l) => /^ecs-anywhere-lb-agent (config (set|validate|get)|iam-policy) /.test(l))
    .map((l) => [file, l] as const));

  it('finds some', () => expect(commands.length).toBeGreaterThanOrEqual(4));

  it.each(commands)('%s: %s', (_, line) => {
    const config = join(scratch, 'agent.env');
    writeFileSync(config, `ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef\n`);
    const args = line.replace(/ > \S+$/, '').split(/\s+/).slice(1).map((a) => (a === '/etc/ecs-anywhere-lb-agent/agent.env' ? config : a));
    expect(() => execFileSync(process.execPath, [ensureAgentBundle(), ...args], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
  });
});
