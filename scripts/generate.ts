/**
 * `npm run generate`: rewrites what is generated from the code: the parts of
 * cloudformation/ecs-anywhere-lb.yaml (the agent's IAM policy, the VPN server's user data, the
 * agent.env output), docs/configuration.md (the option table) and docs/metrics.md (the panels),
 * and monitoring/grafana-dashboard.json. `--check` changes nothing and
 * exits 1 naming each file that differs.
 */
import { writeFileSync } from 'node:fs';
import { GENERATED_FILES, committedAndGenerated, repoPath } from './generate/generated-files.ts';

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const file of GENERATED_FILES) {
  const { committed, generated } = committedAndGenerated(file);
  if (committed === generated) continue;
  stale.push(file);
  if (!check) writeFileSync(repoPath(file), generated);
}
if (check && stale.length > 0) {
  console.error(`generated parts out of date in: ${stale.join(', ')} (run npm run generate)`);
  process.exit(1);
}
console.log(stale.length === 0 ? 'generated parts up to date' : `${check ? 'out of date' : 'rewrote'}: ${stale.join(', ')}`);
