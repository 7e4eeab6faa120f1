/** Every file with generated parts, and what generates each part (`npm run generate` writes them; a test compares). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compactJson } from './compact-json.ts';
import { optionTable } from './config-page.ts';
import { renderRegions, type PartRenderer } from './regions.ts';
import { outputsYaml } from './template-outputs.ts';
import { templatePolicy } from './template-policy.ts';
import { userDataYaml } from './template-vpn.ts';

const ROOT = new URL('../../', import.meta.url);

/** File (from the repository's root) -> its parts by source. */
export const GENERATED_FILES: Readonly<Record<string, Readonly<Record<string, PartRenderer>>>> = {
  'cloudformation/ecs-anywhere-lb.yaml': {
    'agent/iam-policy.ts': (indent) => indent + compactJson(templatePolicy(), indent),
    'cloudformation/ecs-anywhere-lb-vpn.sh': userDataYaml,
    'agent/config-options.ts': outputsYaml,
  },
  'docs/configuration.md': {
    'agent/config-options.ts': () => optionTable(),
  },
};

/** The generated parts of `file`. */
export function partsOf(file: string): Readonly<Record<string, PartRenderer>> {
  const parts = GENERATED_FILES[file];
  if (parts === undefined) throw new Error(`${file} has no generated parts`);
  return parts;
}

/** The path of a file of the repository. */
export const repoPath = (file: string) => fileURLToPath(new URL(file, ROOT));

/** The committed text of `file` and the text the generators give it now. */
export function committedAndGenerated(file: string): { committed: string; generated: string } {
  const committed = readFileSync(repoPath(file), 'utf8');
  return { committed, generated: renderRegions(committed, file, partsOf(file)) };
}
