/**
 * The fault injectors: how each fault kind is switched on and off against the real parts
 * (the endpoint's fault injector, the Docker socket proxy, the agent process, the host's
 * interface, the credentials, state and mapping files). Each returns what it did, for the
 * event history.
 */
import { existsSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_FILE } from '../../agent/state/state-store.ts';
import { credentialsNumber, writeCredentialsFile, writeFileAtomically } from '../../test/support/shared-credentials-file.ts';
import { uniform } from '../fleet-sim/random.ts';
import type { FaultKind } from './scenario.ts';
import type { AgentSupervisor } from './supervisor.ts';
import { HOST_ADDRESSES, HOST_INTERFACE, OTHER_HOST, type ChaosWorld } from './world.ts';

/** What a fault needs to act. */
export interface FaultContext {
  readonly world: ChaosWorld;
  readonly agent: AgentSupervisor;
  readonly random: () => number;
  /** Records a violation the fault itself saw (e.g. a SIGTERM that did not exit 0). */
  readonly violation: (message: string) => void;
}

export interface FaultInjector {
  /** Why it cannot be injected here, or undefined. */
  unavailable(world: ChaosWorld): string | undefined;
  /** Switches it on; returns a description for the history. */
  apply(ctx: FaultContext): Promise<string>;
  /** Switches it off (undoes it); returns a description, or '' when there is nothing to undo. */
  lift(ctx: FaultContext): Promise<string>;
}

const FILLER = 'filler';

const endpointFault = (describe: (ctx: FaultContext) => { update: Parameters<ChaosWorld['elb']['setFaults']>[0]; text: string }): FaultInjector => ({
  unavailable: () => undefined,
  apply: async (ctx) => {
    const { update, text } = describe(ctx);
    ctx.world.elb.setFaults(update);
    return text;
  },
  lift: async (ctx) => {
    ctx.world.elb.clearFaults();
    return 'endpoint faults cleared';
  },
});

const corruptions: ReadonlyArray<[string, (text: string, random: () => number) => string]> = [
  ['cut short as after a power loss', (text, random) => text.slice(0, Math.floor(text.length * uniform(random, 0.1, 0.9)))],
  ['emptied', () => ''],
  ['overwritten with garbage', (_text, random) => Array.from({ length: 64 }, () => String.fromCharCode(32 + Math.floor(random() * 90))).join('')],
  ['zero-filled', (text) => '\0'.repeat(Math.max(16, text.length))],
];

const mappingGarbage: readonly string[] = [
  '{"mappings": [{"family": "chaos-mapped", "containerName": "app", "targetGroupArn": ',
  '{"mappings": [{"family": 42}]}',
  'mappings:\n  - family: chaos-mapped\n',
  '',
];

/** One injector per fault kind. */
export const FAULTS: Readonly<Record<FaultKind, FaultInjector>> = {
  'throttle-storm': endpointFault(() => ({ update: { throttle: 1 }, text: 'every ELB call answered Throttling' })),
  '5xx-burst': endpointFault((ctx) => {
    const p = Number(uniform(ctx.random, 0.4, 1).toFixed(2));
    return { update: { internalError: p / 2, serviceUnavailable: p / 2 }, text: `${Math.round(p * 100)}% of ELB calls answered 500 InternalFailure or 503 ServiceUnavailable` };
  }),
  'latency-spike': endpointFault((ctx) => {
    const ms = Math.round(uniform(ctx.random, 500, 4_000));
    return { update: { latencyMs: ms, latencyProbability: 0.8 }, text: `80% of ELB calls delayed ${ms} ms` };
  }),
  'dropped-connections': endpointFault((ctx) => {
    const p = Number(uniform(ctx.random, 0.3, 1).toFixed(2));
    // Half before the action runs, half after it ran (the reply lost: the agent cannot tell whether it took effect).
    return { update: { dropConnection: p / 2, responseLost: p / 2 }, text: `${Math.round(p * 100)}% of ELB connections closed without a reply (half of them after the action ran)` };
  }),
  'docker-restart': {
    unavailable: () => undefined,
    apply: async ({ world }) => {
      world.proxy.cut();
      return 'Docker socket cut: connections dropped and refused (engine gone)';
    },
    lift: async ({ world }) => {
      world.proxy.restore();
      return 'Docker socket back';
    },
  },
  'agent-sigkill': {
    unavailable: () => undefined,
    apply: async ({ agent }) => `agent SIGKILLed (exit ${String(await agent.kill('SIGKILL'))})`,
    lift: async ({ agent }) => `agent started (pid ${String(agent.start().pid)})`,
  },
  'agent-sigterm-keep': {
    unavailable: () => undefined,
    apply: async ({ agent, violation }) => {
      const code = await agent.kill('SIGTERM');
      if (code !== 0) violation(`SIGTERM with --on-exit keep: the agent exited ${String(code)}, not 0`);
      return `agent SIGTERMed with --on-exit keep (exit ${String(code)})`;
    },
    lift: async ({ agent }) => `agent started (pid ${String(agent.start().pid)})`,
  },
  'address-change': {
    unavailable: (world) => (world.netns ? undefined : world.netnsUnavailable),
    apply: async ({ world, random }) => {
      const choices = HOST_ADDRESSES.filter((a) => a !== world.address);
      const next = choices[Math.floor(random() * choices.length)] as string;
      await world.netns?.setAddress(HOST_INTERFACE, `${next}/24`);
      const from = world.address;
      world.address = next;
      return `${HOST_INTERFACE} renumbered ${from} -> ${next}`;
    },
    lift: async () => '',
  },
  'credentials-rotation': {
    unavailable: () => undefined,
    apply: async ({ world }) => {
      const old = credentialsNumber(world.credentials);
      world.credentials += 1;
      const next = credentialsNumber(world.credentials);
      writeCredentialsFile(world.credentialsFile, next);
      world.elb.setAcceptedAccessKeyIds([old.accessKeyId, next.accessKeyId, OTHER_HOST.accessKeyId]);
      return `credentials file rewritten: ${old.accessKeyId} -> ${next.accessKeyId} (both valid)`;
    },
    lift: async ({ world }) => {
      const current = credentialsNumber(world.credentials);
      world.elb.setAcceptedAccessKeyIds([current.accessKeyId, OTHER_HOST.accessKeyId]);
      return `old key expired: only ${current.accessKeyId} accepted`;
    },
  },
  'state-corruption': {
    unavailable: () => undefined,
    apply: async ({ world, agent, random }) => {
      const code = await agent.kill('SIGKILL');
      const path = join(world.stateDir, STATE_FILE);
      const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      const [how, corrupt] = corruptions[Math.floor(random() * corruptions.length)] as (typeof corruptions)[number];
      writeFileSync(path, corrupt(text, random));
      const pid = agent.start().pid;
      return `agent SIGKILLed (exit ${String(code)}), ${STATE_FILE} ${how} (${text.length} bytes before), agent started (pid ${String(pid)})`;
    },
    lift: async () => '',
  },
  'state-disk-full': {
    unavailable: (world) => world.stateTmpfsUnavailable,
    apply: async ({ world }) => {
      const { bavail, bsize } = statfsSync(world.stateDir);
      const free = Number(bavail) * Number(bsize);
      try {
        writeFileSync(join(world.stateDir, FILLER), Buffer.alloc(free));
      } catch (error) {
        // ENOSPC is the point: the tmpfs is full, whatever the last block held.
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
      return `state dir filled (${free} bytes free before, ${Number(statfsSync(world.stateDir).bavail) * Number(bsize)} after)`;
    },
    lift: async ({ world }) => {
      rmSync(join(world.stateDir, FILLER), { force: true });
      return 'state dir has room again';
    },
  },
  'mapping-garbage': {
    unavailable: () => undefined,
    apply: async ({ world, random }) => {
      const garbage = mappingGarbage[Math.floor(random() * mappingGarbage.length)] as string;
      writeFileAtomically(world.mappingFile, garbage);
      return `mapping file replaced by ${JSON.stringify(garbage.slice(0, 40))}`;
    },
    lift: async ({ world }) => {
      writeFileAtomically(world.mappingFile, world.mappingText);
      return 'mapping file restored';
    },
  },
};
