/**
 * The CycloneDX SBOM of what the executables bundle: `npm sbom --sbom-format cyclonedx --omit
 * dev` (the production dependencies, which esbuild bundles into the agent), with the two fields
 * that change from run to run made reproducible: the timestamp is the release's time and the
 * serial number is derived from the content.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

export function cycloneDxSbom(root: string, name: string, epoch: number): string {
  const raw = execFileSync('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '--package-lock-only'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  const sbom = JSON.parse(raw) as { bomFormat?: string; serialNumber?: string; metadata?: { timestamp?: string; component?: { name?: string } } };
  if (sbom.bomFormat !== 'CycloneDX') throw new Error('npm sbom did not write a CycloneDX document');
  // npm names the root component after the checkout's directory: the package's name instead.
  sbom.metadata = { ...sbom.metadata, timestamp: new Date(epoch * 1000).toISOString(), ...(sbom.metadata?.component ? { component: { ...sbom.metadata.component, name } } : {}) };
  delete sbom.serialNumber;
  const hex = createHash('sha256').update(JSON.stringify(sbom)).digest('hex');
  // A UUID's shape (version 5 style bits) from the content's hash.
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
  return `${JSON.stringify({ ...sbom, serialNumber: `urn:uuid:${uuid}` }, null, 2)}\n`;
}
