// Credentials that follow rotation: the agent runs without keys in its environment and
// reads the shared credentials file the SSM agent rewrites (temp file + rename). The local
// endpoint accepts only the current key, so a stale key gets ExpiredToken, as AWS would
// answer once the old session token lapses.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_IP, HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import { tempDir, type AgentProcess } from '../support/agent-process.ts';
import type { EcsContainer } from '../support/ecs-container.ts';
import { credentialsNumber, writeCredentialsFile, writeFileAtomically } from '../support/shared-credentials-file.ts';
import { waitFor } from '../support/wait.ts';

let world: World;
let agent: AgentProcess | undefined;
const dir = tempDir('ecslb-credentials-');
const GROUPS = ['rot-a', 'rot-b'] as const;
const foreign = { 'rot-a': `${FOREIGN_IP}:31000`, 'rot-b': `${FOREIGN_IP}:31001`, late: `${FOREIGN_IP}:31002` };

beforeAll(async () => {
  world = await createWorld({ groups: [...GROUPS, 'late'] });
  world.elb.registerForeign(world.groups['rot-a']!, [{ id: FOREIGN_IP, port: 31000, availabilityZone: 'all' }]);
  world.elb.registerForeign(world.groups['rot-b']!, [{ id: FOREIGN_IP, port: 31001, availabilityZone: 'all' }]);
  world.elb.registerForeign(world.groups.late!, [{ id: FOREIGN_IP, port: 31002, availabilityZone: 'all' }]);
});

afterEach(async () => {
  await agent?.stop('SIGKILL');
  agent = undefined;
  world.elb.setAcceptedAccessKeyIds(undefined);
  world.elb.clearFaults();
});

afterAll(async () => {
  await world?.close();
  dir.remove();
});

/** The agent's environment: no keys, only the shared credentials file. */
const fileEnv = (file: string) => ({
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SHARED_CREDENTIALS_FILE: file,
  ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '1s',
  ECS_ANYWHERE_LB_RETRY_MAX_DELAY: '2s',
});
const ours = (c: EcsContainer) => `${HOST_IP}:${c.hostPort()}`;
const alive = (a: AgentProcess) => {
  try {
    process.kill(a.pid!, 0);
    return true;
  } catch {
    return false;
  }
};

describe('agent credentials', () => {
  it('follows the shared credentials file through rotations during container churn', async () => {
    const file = join(dir.path, 'rotating', 'credentials');
    const keys: string[] = [];
    const install = (n: number) => {
      const c = credentialsNumber(n);
      keys.push(c.accessKeyId);
      return c;
    };
    const first = install(0);
    writeCredentialsFile(file, first);
    world.elb.setAcceptedAccessKeyIds([first.accessKeyId]);
    const started = Date.now();
    agent = world.startAgent(fileEnv(file));
    await agent.ready();
    // The first reads (within a lone host's read window) are signed with the first key.
    await waitFor(() => world.elb.requestLog.some((e) => e.caller === first.accessKeyId && e.status === 200), { description: 'a successful call with the first key' });
    // Some latency, so that calls are in flight when a key stops working.
    world.elb.setFaults({ latencyMs: 100 });

    const running: { group: (typeof GROUPS)[number]; c: EcsContainer }[] = [];
    const churn = async (i: number) => {
      if (running.length >= 3 && i % 3 !== 0) {
        await running.shift()!.c.remove();
      } else {
        const group = GROUPS[i % 2]!;
        running.push({ group, c: await world.startContainer({ family: `rot${i}`, dockerLabels: targetLabels(world.groups[group]!) }) });
      }
    };
    const ROTATIONS = 10;
    for (let i = 1; i <= ROTATIONS; i++) {
      const next = install(i);
      if (i % 2 === 0) {
        // The harsh order: the old key stops working before the new file is there, and the
        // file changes only once a call has met the dead key (a fixed pause could end before any call).
        const previous = keys[keys.length - 2]!;
        const from = world.elb.requestLog.length;
        world.elb.setAcceptedAccessKeyIds([next.accessKeyId]);
        const step = churn(i);
        await waitFor(() => world.elb.requestLog.slice(from).some((e) => e.caller === previous && e.errorCode === 'ExpiredToken'), {
          description: `a call with the dead key ${i - 1} answered ExpiredToken`,
          timeoutMs: 15_000,
          intervalMs: 10,
        });
        writeCredentialsFile(file, next);
        await step;
      } else {
        // The SSM agent's order: the new file and the new key take effect together.
        writeCredentialsFile(file, next);
        world.elb.setAcceptedAccessKeyIds([next.accessKeyId]);
        await churn(i);
      }
      // The rotation is complete once a call signed with the new key has succeeded.
      await waitFor(() => world.elb.requestLog.some((e) => e.caller === next.accessKeyId && e.status === 200), { description: `a successful call with key ${i}`, timeoutMs: 15_000 });
    }

    for (const group of GROUPS) {
      const want = [...running.filter((r) => r.group === group).map((r) => ours(r.c)), foreign[group]];
      await world.waitForTargets(group, want, 'after the last rotation', 20_000, ['initial', 'healthy', 'unhealthy']);
    }
    // Every group has been called with the newest key (the periodic run makes sure of a call).
    const newest = keys[keys.length - 1];
    for (const arn of Object.values(world.groups)) {
      await waitFor(() => world.elb.requestLog.some((e) => e.targetGroupArn === arn && e.caller === newest && e.status === 200), { description: `a call to ${arn} with ${newest}`, timeoutMs: 10_000 });
    }
    world.elb.clearFaults();

    // Per group and action, calls are sequential (a group's registration, deregistration and
    // read may be in flight side by side, each signed with the key of its moment). A rotation
    // costs at most one failed call of each: the call after an ExpiredToken is signed with a
    // newer key (it succeeds, or, when rotations come faster than the group's backoff, meets the
    // next rotation), and the sequence ends in success.
    const log = world.elb.requestLog.filter((e) => e.time >= started && keys.includes(e.caller ?? ''));
    const summary = { rotations: ROTATIONS, calls: log.length, expired: 0, retriedAtOnce: 0, maxFailuresPerRotation: 0, maxRecoveryMs: 0 };
    const lanes = [...new Set(log.map((e) => `${e.targetGroupArn}|${e.action}`))];
    for (const lane of lanes) {
      const [arn, action] = lane.split('|');
      const group = Object.keys(world.groups).find((g) => world.groups[g] === arn) ?? String(arn);
      const seq = log.filter((e) => e.targetGroupArn === arn && e.action === action);
      const groupSeq = log.filter((e) => e.targetGroupArn === arn);
      const failuresByKey = new Map<string, number>();
      seq.forEach((e, i) => {
        expect([200, 403], `${e.action} ${e.errorCode ?? ''}`).toContain(e.status);
        if (e.errorCode !== 'ExpiredToken') return;
        summary.expired++;
        failuresByKey.set(e.caller!, (failuresByKey.get(e.caller!) ?? 0) + 1);
        // The same change (or read) again; or, when it was no longer needed (its container gone), the group's next call.
        const after = seq[i + 1] ?? groupSeq.find((x) => x.time > e.time && x.action !== e.action);
        const context = `${group}: ${JSON.stringify(seq.slice(Math.max(0, i - 1), i + 3).map((x) => [x.time % 100_000, x.action, x.caller, x.errorCode ?? x.status]))}`;
        expect(after, `a call after ExpiredToken in ${group}`).toBeDefined();
        expect(keys.indexOf(after!.caller!), `the call after ExpiredToken uses a newer key in ${context}`).toBeGreaterThan(keys.indexOf(e.caller!));
        if (after!.status === 200) {
          // Retried at once when the file already held the new key; after the group's backoff when it did not yet.
          if (after!.time - e.time < 400) summary.retriedAtOnce++;
          summary.maxRecoveryMs = Math.max(summary.maxRecoveryMs, after!.time - e.time);
        }
      });
      summary.maxFailuresPerRotation = Math.max(summary.maxFailuresPerRotation, ...failuresByKey.values());
    }
    for (const [group, arn] of Object.entries(world.groups)) {
      expect(log.filter((e) => e.targetGroupArn === arn).at(-1)?.status, `last call in ${group}`).toBe(200);
    }
    console.log(JSON.stringify({ scenario: 'credential-rotation', ...summary }));
    expect(summary.maxFailuresPerRotation).toBe(1);
    expect(summary.expired).toBeGreaterThan(0);
    expect(summary.expired).toBeLessThanOrEqual(ROTATIONS * lanes.length);
    // Every key was used, and the agent said so each time the file changed.
    expect(new Set(log.filter((e) => e.status === 200).map((e) => e.caller))).toEqual(new Set(keys));
    expect(agent.find((l) => l.event === 'credentials-rotated')).toHaveLength(ROTATIONS);
    expect(agent.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain('secret-AKIDROT');

    expect(world.elb.requestLog.filter((e) => (e.targets ?? []).some((t) => t.id === FOREIGN_IP))).toEqual([]);
    expect(alive(agent)).toBe(true);
    await Promise.all(running.map((r) => r.c.remove()));
  });

  it('starts without a credentials file, says so once, and registers once the file appears', async () => {
    const file = join(dir.path, 'late', 'credentials');
    const c = await world.startContainer({ family: 'late', dockerLabels: targetLabels(world.groups.late!) });
    agent = world.startAgent(fileEnv(file));
    await agent.ready();
    // Three failed tries at the late group with the file missing: the agent kept trying, said so once, and registered nothing.
    const failures = (code: string) => agent!.find((l) => l.event === 'error' && l.code === code && l.targetGroupArn === world.groups.late).length;
    await waitFor(() => failures('CredentialsFileMissing') >= 3, { description: 'three failed tries at tg/late without a file', timeoutMs: 20_000 });
    expect(world.targets('late')).toEqual([foreign.late]);
    const problems = () => agent!.find((l) => l.event === 'credentials-problem');
    expect(problems()).toHaveLength(1);
    expect(problems()[0]).toMatchObject({ level: 'warn', file });
    expect(problems()[0]!.message).toContain('missing');

    // A file without the profile (e.g. half-provisioned) is another problem, said once too.
    writeFileAtomically(file, '[someone-else]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = x\n');
    await waitFor(() => failures('CredentialsProfileMissing') >= 3, { description: 'three failed tries at tg/late without the profile', timeoutMs: 20_000 });
    expect(problems()).toHaveLength(2);
    expect(problems()[1]!.message).toContain('default');
    expect(world.targets('late')).toEqual([foreign.late]);

    const appeared = Date.now();
    writeCredentialsFile(file, credentialsNumber(1, 'AKIDLATE'));
    await world.waitForTargets('late', [ours(c), foreign.late], 'registered once the file appears', 10_000);
    console.log(JSON.stringify({ scenario: 'credentials-file-appears', registeredAfterMs: Date.now() - appeared }));
    expect(agent.find((l) => l.event === 'credentials-loaded')).toHaveLength(1);
    expect(problems()).toHaveLength(2);
    // The reconciler warned once per group for the whole streak, not once per retry.
    const warnings = agent.find((l) => l.level === 'warn' && l.event === 'error');
    expect(warnings.length).toBeLessThanOrEqual(Object.keys(world.groups).length);
    expect(alive(agent)).toBe(true);
    await c.remove();
    await world.waitForTargets('late', [foreign.late], 'cleaned up', 20_000, ['initial', 'healthy', 'unhealthy']);
  });
});
