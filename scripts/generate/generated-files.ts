/**
 * Every generated file and file with generated parts, and what generates each (`npm run generate`
 * writes them; tests compare the committed copies with what the code gives now).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compactJson } from './compact-json.ts';
import { optionTable } from './config-page.ts';
import { dashboardJson, panelList } from './dashboard.ts';
import { renderRegions, type PartRenderer } from './regions.ts';
import { outputsYaml } from './template-outputs.ts';
import { templatePolicy } from './template-policy.ts';
import { userDataYaml } from './template-vpn.ts';

const ROOT = new URL('../../', import.meta.url);

/** Files with generated parts (between BEGIN/END generated lines): file -> its parts by source. */
export const GENERATED_PARTS: Readonly<Record<string, Readonly<Record<string, PartRenderer>>>> = {
  'cloudformation/ecs-anywhere-lb.yaml': {
    'agent/iam-policy.ts': (indent) => indent + compactJson(templatePolicy(), indent),
    'cloudformation/ecs-anywhere-lb-vpn.sh': userDataYaml,
    'agent/config-options.ts': outputsYaml,
  },
  'docs/configuration.md': {
    'agent/config-options.ts': () => optionTable(),
  },
  'docs/metrics.md': {
    'scripts/generate/dashboard.ts': () => panelList(),
  },
};

/** Files generated whole. */
export const GENERATED_WHOLE: Readonly<Record<string, () => string>> = {
  'monitoring/grafana-dashboard.json': dashboardJson,
};

/** Every file `npm run generate` writes, wholly or in part. */
export const GENERATED_FILES: readonly string[] = [...Object.keys(GENERATED_PARTS), ...Object.keys(GENERATED_WHOLE)];

/** The generated parts of `file`. */
export function partsOf(file: string): Readonly<Record<string, PartRenderer>> {
  const parts = GENERATED_PARTS[file];
  if (parts === undefined) throw new Error(`${file} has no generated parts`);
  return parts;
}

/** The path of a file of the repository. */
export const repoPath = (file: string) => fileURLToPath(new URL(file, ROOT));

/** The committed text of `file` and the text the generators give it now. */
export function committedAndGenerated(file: string): { committed: string; generated: string } {
  const committed = readFileSync(repoPath(file), 'utf8');
  const whole = GENERATED_WHOLE[file];
  return { committed, generated: whole !== undefined ? whole() : renderRegions(committed, file, partsOf(file)) };
}
