// Node single-executable (SEA) steps: the preparation blob, stripping the stock Node binary,
// and injecting the blob with postject. See https://nodejs.org/docs/latest-v22.x/api/single-executable-applications.html
import { copyFile, chmod, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { BuildError, haveTool, run } from './run.mjs';

/** The sentinel Node's SEA support looks for; postject flips its last character on injection. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** GNU triplets of the target architectures, for cross binutils (`<triplet>-strip`). */
const TRIPLETS = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

/** Debian packages that provide `<triplet>-strip`. */
const STRIP_PACKAGES = { x64: 'binutils-x86-64-linux-gnu', arm64: 'binutils-aarch64-linux-gnu' };

const require = createRequire(import.meta.url);

/**
 * Writes sea-config.json into `workDir` and runs `nodeBin --experimental-sea-config` there.
 * Code cache and snapshot stay off: both are specific to the V8 build and CPU that made them,
 * so a blob without them can be injected into the x64 and the arm64 binary alike.
 * `execArgv`: Node and V8 flags the executable starts with (sea-config `execArgv`, Node >= 22.20),
 * as if given as `node FLAGS script`; NODE_OPTIONS still adds to them (`execArgvExtension` "env").
 * @param {{ nodeBin: string, bundle: string, workDir: string, execArgv?: string[] }} options
 * @returns {Promise<string>} the blob's path
 */
export async function makeBlob({ nodeBin, bundle, workDir, execArgv = [] }) {
  // The blob records `main` as given: copy the bundle next to the config and name it
  // relatively so that the build directory does not leak into the executable.
  await copyFile(bundle, join(workDir, 'ecs-anywhere-lb-agent.cjs'));
  const config = {
    main: 'ecs-anywhere-lb-agent.cjs',
    output: 'sea-prep.blob',
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    ...(execArgv.length > 0 ? { execArgv } : {}),
  };
  await writeFile(join(workDir, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await run(nodeBin, ['--experimental-sea-config', 'sea-config.json'], { cwd: workDir });
  return join(workDir, 'sea-prep.blob');
}

/**
 * The strip command for `arch` on this host: the native `strip` when the host has that
 * architecture, else the cross binutils' `<triplet>-strip`.
 * @param {'x64' | 'arm64'} arch
 * @returns {Promise<string>}
 */
export async function stripTool(arch) {
  const candidates = arch === process.arch ? ['strip', `${TRIPLETS[arch]}-strip`] : [`${TRIPLETS[arch]}-strip`];
  for (const tool of candidates) {
    if (await haveTool(tool)) return tool;
  }
  throw new BuildError(
    `no strip for linux-${arch}: ${candidates.join(' or ')} not found.\n` +
      `  Install Debian's ${arch === process.arch ? 'binutils' : STRIP_PACKAGES[arch]} (apt-get install ${arch === process.arch ? 'binutils' : STRIP_PACKAGES[arch]}), or build with --no-strip`,
  );
}

/**
 * Makes the single executable `out` from the stock Node binary `node` and the blob.
 * Stripping comes first: postject adds the blob as an ELF note and a program header, and
 * GNU strip run afterwards rewrites the segments so that the result crashes at start
 * (measured with binutils 2.40: SIGSEGV). Stripping the stock binary takes ~17 MB off.
 * @param {{ node: string, blob: string, out: string, strip: string | undefined, nodeBin: string }} options
 */
export async function makeExecutable({ node, blob, out, strip, nodeBin }) {
  await copyFile(node, out);
  await chmod(out, 0o755);
  if (strip) await run(strip, [out]);
  const postject = join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
  // postject prints LIEF warnings about Node's many notes ("Can't find string offset for
  // section name '.note.100'") that are harmless; run() shows them only if it fails.
  await run(nodeBin, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], {
    hint: 'postject could not inject the SEA blob',
  });
}
