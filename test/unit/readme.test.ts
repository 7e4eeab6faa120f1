// The README's configuration reference names every option, flag and variable alike.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPTIONS, envName } from '../../agent/config-options.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README configuration reference', () => {
  it.each(OPTIONS.map((o) => [o.name]))('documents --%s and its environment variable', (name) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`--${name}`));
    expect(row, `a table row for --${name}`).toBeDefined();
    expect(row).toContain(`\`${envName(name)}\``);
  });
});
