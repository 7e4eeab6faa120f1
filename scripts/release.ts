/**
 * `npm run release`: everything a release publishes, in dist/release/:
 *
 *   ecs-anywhere-lb-agent-<version>-linux-{x64,arm64}.tar.gz   scripts/release/tarballs.ts
 *   ecs-anywhere-lb-agent_<version>_{amd64,arm64}.deb          from npm run package
 *   ecs-anywhere-lb-agent-<version>-1.{x86_64,aarch64}.rpm     the same, signed (rpm --addsign)
 *   apt/, yum/                                                  signed repositories (repositories.ts)
 *   distributor/manifest.json and four zips                     SSM Distributor (distributor.ts)
 *   ecs-anywhere-lb-agent-<version>.cdx.json                    CycloneDX SBOM (sbom.ts)
 *   ecs-anywhere-lb-agent.gpg, ecs-anywhere-lb-agent.asc        the public key, binary and armored
 *   SHA256SUMS, SHA256SUMS.asc                                  every file above but the repositories
 *
 * The key: RELEASE_GPG_KEY (armored private key) and RELEASE_GPG_PASSPHRASE, else a throwaway key
 * kept in dist/throwaway-release-key.asc (the last line says which). The binaries and packages
 * come from dist/bin and dist/packages, built first (npm run build:binaries, npm run package) when
 * missing or of another version. Everything is dated SOURCE_DATE_EPOCH (else the commit's time):
 * two runs from one commit give identical files.
 *
 * Usage: tsx scripts/release.ts [--out DIR]
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sha256File, writeSha256Sums } from './release/checksums.ts';
import { writeDistributorPackage } from './release/distributor.ts';
import { signRpms, writeAptRepository, writeYumRepository } from './release/repositories.ts';
import { cycloneDxSbom } from './release/sbom.ts';
import { openSigningKey, signDetached, spacedFingerprint } from './release/signing-key.ts';
import { NAME, RELEASE_KEY_FILE, writeReleaseTarball } from './release/tarballs.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN_DIR = join(ROOT, 'dist', 'bin');
const PACKAGES_DIR = join(ROOT, 'dist', 'packages');
const THROWAWAY_KEY = join(ROOT, 'dist', 'throwaway-release-key.asc');
const ARCHES = ['x64', 'arm64'] as const;

interface BuildInfo { version: string; commit: string; sourceDateEpoch: number; artifacts: Record<string, { tarball: string } | undefined> }
interface PackagesInfo { version: string; commit: string; packages: { file: string; format: 'deb' | 'rpm'; arch: string; sha256: string }[] }

const log = (line: string): void => console.log(line);
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

function head(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function requireTools(): void {
  const tools: [string, string][] = [['gpg', 'gnupg'], ['apt-ftparchive', 'apt-utils'], ['createrepo_c', 'createrepo-c'], ['rpm', 'rpm'], ['zip', 'zip'], ['dpkg-deb', 'dpkg']];
  for (const [tool, debian] of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is missing: install Debian's ${debian} (scripts/install-ci-deps.sh installs it)`);
    }
  }
}

/**
 * dist/bin and dist/packages, built when missing or of another version (a clean checkout builds
 * both); binaries of another commit are used with a warning, as npm run package does.
 */
function inputs(version: string): { build: BuildInfo; packages: PackagesInfo } {
  const buildInfo = join(BIN_DIR, 'build-info.json');
  if (!existsSync(buildInfo) || readJson<BuildInfo>(buildInfo).version !== version) {
    log('dist/bin is missing or of another version: npm run build:binaries');
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-binaries.mjs')], { cwd: ROOT, stdio: 'inherit' });
  }
  const build = readJson<BuildInfo>(buildInfo);
  const commit = head();
  if (commit !== undefined && build.commit !== commit) log(`warning: dist/bin was built from commit ${build.commit}, HEAD is ${commit} (npm run build:binaries rebuilds it)`);
  const packagesInfo = join(PACKAGES_DIR, 'packages.json');
  const packagesStale = () => {
    const p = readJson<PackagesInfo>(packagesInfo);
    return p.version !== version || p.commit !== build.commit || statSync(packagesInfo).mtimeMs < statSync(buildInfo).mtimeMs;
  };
  if (!existsSync(packagesInfo) || packagesStale()) {
    log('dist/packages is missing or older than dist/bin: npm run package');
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'scripts', 'build-packages.ts')], { cwd: ROOT, stdio: 'inherit' });
  }
  const packages = readJson<PackagesInfo>(packagesInfo);
  for (const p of packages.packages) {
    if (sha256File(join(PACKAGES_DIR, p.file)) !== p.sha256) throw new Error(`dist/packages/${p.file} does not match packages.json: run npm run package`);
  }
  return { build, packages };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join('dist', 'release') } }, strict: true });
  const out = resolve(ROOT, values.out as string);
  const started = Date.now();
  requireTools();
  const version = readJson<{ version: string }>(join(ROOT, 'package.json')).version;
  const { build, packages } = inputs(version);
  const epoch = build.sourceDateEpoch;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const key = openSigningKey({ env: process.env, throwawayFile: THROWAWAY_KEY, epoch });
  try {
    const listed: string[] = [];
    const publicKey = key.publicKey();
    writeFileSync(join(out, RELEASE_KEY_FILE), publicKey);
    writeFileSync(join(out, `${NAME}.asc`), key.gpg(['--armor', '--export', key.fingerprint]));
    listed.push(join(out, RELEASE_KEY_FILE), join(out, `${NAME}.asc`));

    for (const arch of ARCHES) {
      const devTarball = build.artifacts[`linux-${arch}`]?.tarball;
      if (devTarball === undefined) throw new Error(`dist/bin/build-info.json has no linux-${arch} build`);
      const nodeLicense = execFileSync('tar', ['-xzOf', join(BIN_DIR, devTarball), '--wildcards', '*/NODE-LICENSE'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      const { file } = await writeReleaseTarball({ root: ROOT, version, arch, binary: join(BIN_DIR, `${NAME}-linux-${arch}`), nodeLicense, publicKey, fingerprint: key.fingerprint, epoch, outDir: out });
      listed.push(file);
      log(`${relative(ROOT, file)}`);
    }

    const shipped = packages.packages.map((p) => ({ ...p, file: join(out, p.file) }));
    for (const p of packages.packages) copyFileSync(join(PACKAGES_DIR, p.file), join(out, p.file));
    signRpms(key, shipped.filter((p) => p.format === 'rpm').map((p) => p.file));
    listed.push(...shipped.map((p) => p.file));
    log(`${shipped.length} packages (the .rpm files signed)`);

    writeAptRepository({ dir: join(out, 'apt'), debs: shipped.filter((p) => p.format === 'deb').map((p) => p.file), key, epoch, origin: NAME });
    writeYumRepository({ dir: join(out, 'yum'), rpms: shipped.filter((p) => p.format === 'rpm').map((p) => p.file), key, epoch });
    log('apt/ and yum/ repositories, signed');

    const sbom = join(out, `${NAME}-${version}.cdx.json`);
    writeFileSync(sbom, cycloneDxSbom(ROOT, NAME, epoch));
    listed.push(sbom);

    const distributorDir = join(out, 'distributor');
    const manifest = writeDistributorPackage({ dir: distributorDir, scriptsDir: join(ROOT, 'packaging', 'distributor'), packages: shipped, version, epoch });
    listed.push(join(distributorDir, 'manifest.json'), ...Object.keys(manifest.files).map((f) => join(distributorDir, f)));
    log(`distributor/: manifest.json and ${Object.keys(manifest.files).length} zips`);

    const sums = writeSha256Sums(out, listed);
    signDetached(key, sums);
    log(`SHA256SUMS (${listed.length} files) and SHA256SUMS.asc`);
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${relative(ROOT, out)}/ (version ${version}, binaries of commit ${build.commit})`);
    log(
      key.throwaway
        ? `signed with a THROWAWAY key ${spacedFingerprint(key.fingerprint)} (RELEASE_GPG_KEY is not set; kept in ${relative(ROOT, THROWAWAY_KEY)} for later runs): not for publishing`
        : `signed with the release key ${spacedFingerprint(key.fingerprint)} (RELEASE_GPG_KEY)`,
    );
  } finally {
    key.close();
  }
}

main().catch((err: unknown) => {
  console.error(`release: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
