// Command-line access to the test harness's Docker engine (test/support/docker-engine.ts):
//
//   node scripts/with-docker.ts [--private] [--] COMMAND [ARG...]
//       Reuse the engine at DOCKER_HOST (or start a private dockerd, always with
//       --private), run COMMAND with DOCKER_HOST pointing at it, stop what was started.
//       Exits with COMMAND's status. Handy for demos and manual agent runs.
//   node scripts/with-docker.ts cleanup [--tag TAG]
//       Tear down private engines whose owning process is gone, and those recorded
//       with TAG (.ci/run tags its engines and calls this from its exit trap).
//
// Runs on Node >= 22.18 (type stripping): `npm run with-docker -- ...`, `npm run docker:cleanup`.
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { cleanupLeftoverEngines, startDockerEngine } from '../test/support/docker-engine.ts';

const USAGE = 'usage: with-docker.ts [--private] [--] COMMAND [ARG...] | with-docker.ts cleanup [--tag TAG]';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'cleanup') {
    const tagAt = argv.indexOf('--tag');
    const tag = tagAt >= 0 ? argv[tagAt + 1] : undefined;
    if (tagAt >= 0 && !tag) throw new Error(`--tag needs a value\n${USAGE}`);
    const cleaned = await cleanupLeftoverEngines(tag === undefined ? {} : { tag });
    console.error(`[with-docker] cleanup: ${cleaned.length} private engine(s) removed`);
    return 0;
  }
  // Leading flags, then an optional `--` (npm run eats the first one), then the command.
  let at = 0;
  const flags: string[] = [];
  while (at < argv.length && argv[at]?.startsWith('--') && argv[at] !== '--') flags.push(argv[at++] ?? '');
  if (argv[at] === '--') at += 1;
  const [program, ...args] = argv.slice(at);
  if (program === undefined || flags.some((f) => f !== '--private')) throw new Error(USAGE);

  const engine = await startDockerEngine({ reuse: !flags.includes('--private') });
  try {
    const child = spawn(program, args, { stdio: 'inherit', env: { ...process.env, DOCKER_HOST: engine.dockerHost } });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    return await new Promise<number>((resolve) => {
      child.on('error', (error) => {
        console.error(`[with-docker] cannot run ${program}: ${error.message}`);
        resolve(127);
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
    });
  } finally {
    await engine.stop();
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[with-docker] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
