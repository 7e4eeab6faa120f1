#!/usr/bin/env node
// Bundles the agent into one CommonJS file, dist/ecs-anywhere-lb-agent.cjs: the form that
// `node` runs directly and that Node's single-executable (SEA) builder embeds.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let commit = process.env.GIT_COMMIT ?? 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  // not a git checkout (e.g. a source tarball): keep GIT_COMMIT or "unknown"
}

// dockerode loads heavy features at start-up that the agent never uses: SSH transport (ssh2
// with its WebAssembly crypto, for ssh:// DOCKER_HOST), BuildKit sessions (gRPC, for image
// builds) and the tar packing of build contexts (tar-fs and .dockerignore parsing, for
// buildImage/putArchive from a directory). Stubs that fail clearly if ever called keep that
// memory free (measured by `npm run bench`).
const STUBS = [
  { filter: /^ssh2$/, name: 'ssh2', contents: 'exports.Client = class Client { constructor() { throw new Error("ssh:// Docker hosts are not supported by ecs-anywhere-lb-agent; use the local unix socket"); } };' },
  { filter: /^\.\/session$/, name: 'dockerode-session', contents: 'module.exports = function withSession() { throw new Error("BuildKit sessions are not supported by ecs-anywhere-lb-agent"); };' },
  { filter: /^tar-fs$/, name: 'tar-fs', contents: 'const no = () => { throw new Error("image builds and archives are not supported by ecs-anywhere-lb-agent"); }; module.exports = { pack: no, extract: no };' },
  { filter: /^@balena\/dockerignore$/, name: 'dockerignore', contents: 'module.exports = function dockerignore() { throw new Error("image builds are not supported by ecs-anywhere-lb-agent"); };' },
];
const unusedDockerFeatures = {
  name: 'unused-docker-features',
  setup(b) {
    for (const stub of STUBS) {
      b.onResolve({ filter: stub.filter }, (args) => (/[\\/](dockerode|docker-modem)[\\/]/.test(args.importer) ? { path: stub.name, namespace: 'stub' } : undefined));
    }
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({ contents: STUBS.find((s) => s.name === args.path)?.contents, loader: 'js' }));
  },
};

await build({
  plugins: [unusedDockerFeatures],
  entryPoints: ['agent/main.ts'],
  outfile: 'dist/ecs-anywhere-lb-agent.cjs',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  // Whitespace and syntax only: names stay readable in stack traces; the source V8 keeps in
  // memory is 1.4 MB instead of 1.7 MB.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  legalComments: 'none',
  // Optional native add-ons of ssh2/dockerode: both fall back to JavaScript when absent.
  external: ['cpu-features', '*.node'],
  define: {
    __AGENT_VERSION__: JSON.stringify(pkg.version),
    __AGENT_COMMIT__: JSON.stringify(commit),
  },
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
console.log(`bundled dist/ecs-anywhere-lb-agent.cjs (version ${pkg.version}, commit ${commit})`);
