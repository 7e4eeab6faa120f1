/**
 * `npm run package`: native packages of the single executables (dist/bin, made by
 * `npm run build:binaries`, which this runs first when they are missing):
 *
 *   dist/packages/ecs-anywhere-lb-agent_<version>_{amd64,arm64}.deb        dpkg-deb, offline
 *   dist/packages/ecs-anywhere-lb-agent-<version>-1.{x86_64,aarch64}.rpm   rpmbuild (Debian's rpm)
 *   each with a .sha256, and dist/packages/packages.json (files, sizes, checksums, timings)
 *
 * Every package holds /usr/bin/ecs-anywhere-lb-agent, the systemd unit in /usr/lib/systemd/system
 * (ExecStart= pointed at /usr/bin), /etc/ecs-anywhere-lb-agent/agent.env (the agent's commented
 * template: a conffile / %config(noreplace), so upgrades keep an edited file), the copyright
 * (with Node's license: the executable embeds Node) and the maintainer scripts made from
 * packaging/ (enable on install, restart on upgrade keeping targets, deregister on removal only).
 * The version is package.json's.
 *
 * Usage: tsx scripts/build-packages.ts [--arch x64,arm64] [--format deb,rpm] [--out DIR]
 *          [--bin-dir DIR] [--compress-level 0-9] [--version V]
 *   --version V packages the same binaries under another version (upgrade tests).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DEFAULT_CONFIG_FILE } from '../agent/config-file.ts';
import { buildDeb } from './packages/deb.ts';
import { checkElfNeeds } from './packages/elf-deps.ts';
import { maintainerScripts, unitFiles } from './packages/maintainer-scripts.ts';
import { manPage } from './packages/man-page.ts';
import { packageVersion, type PackageMeta } from './packages/meta.ts';
import { RPM_ARCH, buildRpm } from './packages/rpm.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAME = 'ecs-anywhere-lb-agent';
const ARCHES = ['x64', 'arm64'] as const;
type Arch = (typeof ARCHES)[number];
const DEB_ARCH: Record<Arch, string> = { x64: 'amd64', arm64: 'arm64' };
/** xz level: 1 makes a 29 MiB package in ~11 s; 6 saves 4 MiB for six times the time (measured on the x64 binary). */
const DEFAULT_COMPRESS_LEVEL = 1;
const UNIT = `${NAME}.service`;
const FILES_BIN = '/usr/local/bin/ecs-anywhere-lb-agent';
const PACKAGE_BIN = '/usr/bin/ecs-anywhere-lb-agent';

const log = (line: string) => console.log(line);

function options() {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: ARCHES.join(',') },
      format: { type: 'string', default: 'deb,rpm' },
      out: { type: 'string', default: join('dist', 'packages') },
      'bin-dir': { type: 'string', default: join('dist', 'bin') },
      'compress-level': { type: 'string', default: String(DEFAULT_COMPRESS_LEVEL) },
      version: { type: 'string' },
    },
    strict: true,
  });
  const arches = (values.arch ?? '').split(',').map((a) => a.trim());
  for (const a of arches) if (!(ARCHES as readonly string[]).includes(a)) throw new Error(`--arch: "${a}" is not one of ${ARCHES.join(', ')}`);
  const formats = (values.format ?? '').split(',').map((f) => f.trim());
  for (const f of formats) if (f !== 'deb' && f !== 'rpm') throw new Error(`--format: "${f}" is not deb or rpm`);
  const level = Number(values['compress-level']);
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new Error(`--compress-level: "${values['compress-level']}" is not 0-9`);
  return {
    arches: arches as Arch[],
    formats: formats as ('deb' | 'rpm')[],
    out: resolve(ROOT, values.out as string),
    binDir: resolve(ROOT, values['bin-dir'] as string),
    compressLevel: level,
    version: values.version,
  };
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function requireTool(tool: string, debianPackage: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is missing: install Debian's ${debianPackage} (scripts/install-ci-deps.sh installs it)`);
  }
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The binary of `arch`, checked against its .sha256; builds the binaries first when they are missing. */
function binaryOf(binDir: string, arch: Arch): string {
  const binary = join(binDir, `${NAME}-linux-${arch}`);
  if (!existsSync(binary)) {
    log(`${relative(ROOT, binary)} is missing: running npm run build:binaries first`);
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-binaries.mjs'), '--out', binDir], { cwd: ROOT, stdio: 'inherit' });
  }
  const expected = readFileSync(`${binary}.sha256`, 'utf8').split(/\s+/)[0];
  if (sha256(binary) !== expected) throw new Error(`${binary} does not match ${binary}.sha256: rebuild with npm run build:binaries`);
  return binary;
}

/**
 * A unit as the packages install it: the same file, with the binary in /usr/bin. The agent's
 * service must start the binary; other units (a socket, a helper service) may name it too.
 */
function packagedUnit(name: string, text: string): string {
  const execStart = new RegExp(`^ExecStart=${FILES_BIN}(?= |$)`, 'm');
  if (name === UNIT && !execStart.test(text)) throw new Error(`systemd/${UNIT} has no "ExecStart=${FILES_BIN}" line: update scripts/build-packages.ts`);
  return text
    .replace(new RegExp(`^(Exec[A-Za-z]*=[-@:+!]*)${FILES_BIN}(?= |$)`, 'gm'), `$1${PACKAGE_BIN}`)
    .replace(`Installed by install.sh as /etc/systemd/system/${name}`, `Installed by the ${NAME} package as /usr/lib/systemd/system/${name}`);
}

/** DEP-5 copyright; Node's own license (with the licenses of what Node includes) is the NODE-LICENSE.gz beside it. */
function copyright(meta: PackageMeta): string {
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${NAME}

Files: *
Copyright: ${new Date(meta.sourceDateEpoch * 1000).getUTCFullYear()} the ${NAME} authors
License: Apache-2.0

Files: usr/bin/${NAME}
Copyright: ${new Date(meta.sourceDateEpoch * 1000).getUTCFullYear()} the ${NAME} authors
 Node.js contributors and the authors of the software Node.js includes
Comment: The executable is Node.js ${meta.node} (the node-linux-* packages of the npm registry) with the agent embedded as a single executable application.
License: Apache-2.0 and Node.js

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.

License: Node.js
 The license of Node.js and of the software it includes (V8, OpenSSL, ICU, libuv, zlib and
 others) is in /usr/share/doc/${NAME}/NODE-LICENSE.gz.
`;
}

function changelog(meta: PackageMeta): Buffer {
  const date = new Date(meta.sourceDateEpoch * 1000).toUTCString().replace('GMT', '+0000');
  const text = `${NAME} (${meta.debVersion}) stable; urgency=medium\n\n  * Release ${meta.version} (commit ${meta.commit}, Node.js ${meta.node}).\n\n -- ${meta.maintainer}  ${date}\n`;
  return gzipSync(text, { level: 9 });
}

/** Lintian tags that are true of a single-executable application by design, each with why. */
const LINTIAN_OVERRIDES = `# The executable is Node.js with the agent embedded (a single executable application):
# Node.js statically links its own copies of these libraries (zlib...), as every Node.js build does.
${NAME}: embedded-library *
`;

function writeFile(path: string, content: string | Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

/** The package's / for one architecture. */
function stageTree(tree: string, binary: string, meta: PackageMeta, nodeLicense: string, lintian: boolean): void {
  const doc = join(tree, 'usr/share/doc', NAME);
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  copyFileSync(binary, join(tree, 'usr/bin', NAME));
  chmodSync(join(tree, 'usr/bin', NAME), 0o755);
  for (const unit of unitFiles(join(ROOT, 'systemd'))) {
    writeFile(join(tree, 'usr/lib/systemd/system', unit), packagedUnit(unit, readFileSync(join(ROOT, 'systemd', unit), 'utf8')), 0o644);
  }
  writeFile(join(tree, 'etc', NAME, 'agent.env'), DEFAULT_CONFIG_FILE, 0o640);
  writeFile(join(doc, 'copyright'), copyright(meta), 0o644);
  writeFile(join(doc, 'NODE-LICENSE.gz'), gzipSync(nodeLicense, { level: 9 }), 0o644);
  writeFile(join(doc, 'changelog.gz'), changelog(meta), 0o644);
  writeFile(join(tree, 'usr/share/man/man1', `${NAME}.1.gz`), gzipSync(manPage(meta.version, new Date(meta.sourceDateEpoch * 1000)), { level: 9 }), 0o644);
  if (lintian) writeFile(join(tree, 'usr/share/lintian/overrides', NAME), LINTIAN_OVERRIDES, 0o644);
  execFileSync('find', [tree, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);
}

function main(): void {
  const o = options();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; description: string; homepage?: string };
  const info = JSON.parse(readFileSync(join(o.binDir, 'build-info.json'), 'utf8').toString()) as { version: string; commit: string; node: string; artifacts: Record<string, { tarball: string }> };
  const version = o.version ?? pkg.version;
  if (o.version === undefined && info.version !== pkg.version) throw new Error(`${relative(ROOT, o.binDir)} holds version ${info.version}, package.json says ${pkg.version}: run npm run build:binaries`);
  const head = git(['rev-parse', '--short=12', 'HEAD']);
  if (head !== undefined && info.commit !== head) log(`warning: the binaries in ${relative(ROOT, o.binDir)} were built from commit ${info.commit}, HEAD is ${head} (npm run build:binaries rebuilds them)`);
  if (o.formats.includes('deb')) requireTool('dpkg-deb', 'dpkg');
  if (o.formats.includes('rpm')) requireTool('rpmbuild', 'rpm');
  requireTool('readelf', 'binutils');
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? git(['log', '-1', '--format=%ct']) ?? Math.floor(Date.now() / 1000));
  const gitName = git(['config', 'user.name']);
  const gitEmail = git(['config', 'user.email']);
  const meta: PackageMeta = {
    name: NAME,
    version,
    debVersion: packageVersion(version),
    rpmVersion: packageVersion(version),
    rpmRelease: '1',
    maintainer: process.env.PACKAGE_MAINTAINER ?? (gitName && gitEmail ? `${gitName} <${gitEmail}>` : `${NAME} maintainers <root@localhost.invalid>`),
    ...(pkg.homepage ? { homepage: pkg.homepage } : {}),
    license: pkg.license,
    summary: 'registers ECS Anywhere task containers in ELBv2 target groups',
    description: [
      'ecs-anywhere-lb-agent runs next to the Amazon ECS agent on an ECS Anywhere',
      'host. It watches the local Docker engine and registers the host\'s VPN or',
      'LAN address with each task container\'s host port as an IP target in the',
      'target groups the container\'s labels name, and deregisters it the moment',
      'the container is told to stop.',
      '',
      'Set the target groups in /etc/ecs-anywhere-lb-agent/agent.env',
      '(ecs-anywhere-lb-agent config set), then start ecs-anywhere-lb-agent.service.',
    ],
    commit: info.commit,
    node: info.node,
    sourceDateEpoch: epoch,
  };

  mkdirSync(o.out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), `${NAME}-package-`));
  const made: { file: string; format: string; arch: string; bytes: number; sha256: string; seconds: number }[] = [];
  try {
    for (const arch of o.arches) {
      const binary = binaryOf(o.binDir, arch);
      checkElfNeeds(binary);
      const tarball = info.artifacts[`linux-${arch}`]?.tarball;
      if (tarball === undefined) throw new Error(`build-info.json has no linux-${arch} tarball`);
      const nodeLicense = execFileSync('tar', ['-xzOf', join(o.binDir, tarball), '--wildcards', '*/NODE-LICENSE'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      for (const format of o.formats) {
        const started = Date.now();
        const tree = join(work, `${format}-${arch}`);
        stageTree(tree, binary, meta, nodeLicense, format === 'deb');
        const file = format === 'deb'
          ? join(o.out, `${NAME}_${meta.debVersion}_${DEB_ARCH[arch]}.deb`)
          : join(o.out, `${NAME}-${meta.rpmVersion}-${meta.rpmRelease}.${RPM_ARCH[arch]}.rpm`);
        rmSync(file, { force: true });
        if (format === 'deb') {
          buildDeb({ tree, meta, arch: DEB_ARCH[arch], scripts: maintainerScripts('deb', join(ROOT, 'packaging'), unitFiles(join(ROOT, 'systemd'))), out: file, compressLevel: o.compressLevel });
        } else {
          buildRpm({ tree, meta, arch, scripts: maintainerScripts('rpm', join(ROOT, 'packaging'), unitFiles(join(ROOT, 'systemd'))), work: join(work, `rpm-work-${arch}`), out: file, compressLevel: o.compressLevel });
        }
        const digest = sha256(file);
        writeFileSync(`${file}.sha256`, `${digest}  ${basename(file)}\n`);
        const seconds = (Date.now() - started) / 1000;
        made.push({ file: basename(file), format, arch: format === 'deb' ? DEB_ARCH[arch] : RPM_ARCH[arch], bytes: statSync(file).size, sha256: digest, seconds });
        log(`${relative(ROOT, file)}  ${(statSync(file).size / 1048576).toFixed(1)} MiB  ${seconds.toFixed(1)} s`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(join(o.out, 'packages.json'), `${JSON.stringify({ version, commit: meta.commit, node: meta.node, compressLevel: o.compressLevel, packages: made }, null, 2)}\n`);
  log(`wrote ${relative(ROOT, join(o.out, 'packages.json'))}`);
}

try {
  main();
} catch (err) {
  console.error(`build-packages: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
