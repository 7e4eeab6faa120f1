/**
 * The option table of docs/configuration.md, from the agent's own table (agent/config-options.ts):
 * each option's flag, environment variable, default and meaning, so the page cannot drift from
 * what the agent accepts. Reads only OPTIONS' name, type, help, default and values, and envName().
 */
import { OPTIONS, envName, type OptionSpec } from '../../agent/config-options.ts';

const PLACEHOLDER: Record<string, string> = { string: 'VALUE', duration: 'DURATION', list: 'A,B,...', cidrs: 'CIDR,...', count: 'N' };

/** The flag as a user types it: `--name`, `--name VALUE` or `--name a|b`. */
export function flagForm(o: Pick<OptionSpec, 'name' | 'type' | 'values'>): string {
  if (o.type === 'boolean') return `--${o.name}`;
  if (o.type === 'enum') return `--${o.name} ${(o.values ?? []).join('|')}`;
  return `--${o.name} ${PLACEHOLDER[o.type] ?? 'VALUE'}`;
}

// Inside a table cell a pipe ends the cell, `*` starts emphasis and `<` a tag.
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\*/g, '\\*').replace(/</g, '&lt;');
const codeCell = (text: string) => text.replace(/\|/g, '\\|');

/** The Markdown table, one row per option, in the table's order. */
export function optionTable(): string {
  return [
    '| flag | environment variable | default | meaning |',
    '|---|---|---|---|',
    ...OPTIONS.map((o) => `| \`${codeCell(flagForm(o))}\` | \`${envName(o.name)}\` | ${o.default !== undefined ? `\`${codeCell(o.default)}\`` : 'none'} | ${cell(o.help)} |`),
  ].join('\n');
}
