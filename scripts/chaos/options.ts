/** The chaos soak's command line: `npm run chaos -- [--duration SECONDS] [--seed N] [--json FILE]`. Pure. */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from './scenario.ts';

export const CHAOS_USAGE = `Usage: npm run chaos -- [--duration SECONDS] [--seed N] [--json FILE]

  --duration SECONDS  how long to inject faults and churn (default 300); the final check comes after
  --seed N            seed of every random choice (default: a random one, printed), to replay a run
  --json FILE         also write the report as JSON to FILE (with the whole event history)
  --agent-log FILE    write every agent run's output to FILE (for reading a violation)
  --faults K1,K2,...  inject only these fault kinds (default: all of ${FAULT_KINDS.join(', ')})
  --help              show this help

Runs as root (a network namespace whose address it renumbers, a tmpfs state dir it fills; without
them those two faults are reported as not injected). Uses the Docker engine at DOCKER_HOST when one
answers (it is never restarted: an engine restart is a cut of the agent's socket), else starts a
private dockerd. Exits 0 when no invariant was violated, 1 on a violation, 2 on bad usage.
`;

export const DEFAULT_DURATION_SECONDS = 300;

export interface ChaosOptions {
  readonly durationSeconds: number;
  readonly seed: number;
  readonly jsonFile?: string;
  readonly agentLogFile?: string;
  /** The fault kinds to inject (default all). */
  readonly faults: readonly FaultKind[];
}

/** Thrown for bad command-line input (printed with the usage, exit code 2). */
export class ChaosUsageError extends Error {}

/** Parses the arguments; `randomSeed` is used when --seed is absent. */
export function parseChaosArgs(argv: readonly string[], randomSeed: () => number): ChaosOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { duration: { type: 'string' }, seed: { type: 'string' }, json: { type: 'string' }, 'agent-log': { type: 'string' }, faults: { type: 'string' }, help: { type: 'boolean' } },
    }));
  } catch (error) {
    throw new ChaosUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const integer = (flag: string, text: string, min: number, max: number): number => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new ChaosUsageError(`--${flag} must be an integer between ${min} and ${max}, not '${text}'`);
    }
    return Number(text);
  };
  const durationSeconds = values.duration === undefined ? DEFAULT_DURATION_SECONDS : integer('duration', values.duration, 10, 86_400);
  const seed = values.seed === undefined ? randomSeed() : integer('seed', values.seed, 0, 2 ** 32 - 1);
  if (values.json === '') throw new ChaosUsageError('--json needs a file name');
  if (values['agent-log'] === '') throw new ChaosUsageError('--agent-log needs a file name');
  const faults = values.faults === undefined ? FAULT_KINDS : values.faults.split(',').map((k) => k.trim()).filter((k) => k !== '');
  for (const k of faults) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new ChaosUsageError(`--faults: unknown fault kind '${k}' (known: ${FAULT_KINDS.join(', ')})`);
  }
  return {
    durationSeconds,
    seed,
    faults: faults as FaultKind[],
    ...(values.json !== undefined ? { jsonFile: values.json } : {}),
    ...(values['agent-log'] !== undefined ? { agentLogFile: values['agent-log'] } : {}),
  };
}
