/**
 * `check`: verifies what the agent needs before it can work: Docker access, credentials,
 * a targetable host address, each allowed target group existing with target type ip,
 * this host's ECS container instance (for the address attribute) and a usable state directory. Exits non-zero with the reasons. It also names the host
 * (board, distribution, kernel), which support asks for first.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import { shortTargetGroup } from '../core/arn.ts';
import { errorMessage } from '../errors.ts';
import { describeHost, hostFacts } from '../host/host-facts.ts';
import { probeWrite } from '../state/state-store.ts';
import type { Parts } from './parts.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

async function probe(name: string, fn: () => Promise<string>): Promise<CheckResult> {
  try {
    return { name, ok: true, detail: await fn() };
  } catch (err) {
    return { name, ok: false, detail: errorMessage(err) };
  }
}

/** Runs every check; none stops the others. */
export async function collectChecks(parts: Parts): Promise<CheckResult[]> {
  const { config } = parts;
  const results: CheckResult[] = [
    { name: 'host', ok: true, detail: describeHost(await hostFacts()) },
    { name: 'config', ok: true, detail: `valid${config.mappingFile ? `, mapping file ${config.mappingFile} loaded` : ''}` },
  ];
  results.push(
    await probe('docker', async () => {
      const v = (await parts.docker.version()) as { Version?: string; ApiVersion?: string };
      return `Docker ${v.Version ?? '?'} (API ${v.ApiVersion ?? '?'}) reachable`;
    }),
  );
  results.push(
    await probe('credentials', async () => {
      await parts.credentials.provider();
      const s = parts.credentials.source;
      return s.kind === 'environment' ? 'from environment variables' : `from ${s.file ?? '?'} profile ${s.profile ?? 'default'}`;
    }),
  );
  results.push(
    await probe('address', async () => {
      const choice = await parts.addresses.current();
      if (choice.address === undefined) throw new Error(choice.problem ?? 'no usable address');
      return `${choice.address}${choice.interface ? ` on ${choice.interface}` : ''}`;
    }),
  );
  for (const arn of config.allowedTargetGroups) {
    results.push(
      await probe(`target group ${shortTargetGroup(arn)}`, async () => {
        const g = await parts.registry.describeGroup(arn);
        if (g.targetType !== 'ip') throw new Error(`target type is ${g.targetType}; the agent needs target type ip`);
        return `exists, target type ip${g.vpcId ? `, ${g.vpcId}` : ''}`;
      }),
    );
  }
  if (config.allowedTargetGroups.length === 0) results.push({ name: 'target groups', ok: true, detail: 'any group allowed (--allow-any-target-group)' });
  const introspection = config.ecsIntrospectionEndpoint;
  results.push(
    introspection === undefined
      ? { name: 'ecs container instance', ok: true, detail: 'not looked up (--ecs-introspection-endpoint off): no address attribute for fleet status/clean' }
      : await probe('ecs container instance', async () => {
        const { readContainerInstance } = await import('../ecs/introspection.ts');
        const id = await readContainerInstance(introspection).catch((err: unknown) => {
          throw new Error(`${errorMessage(err)}; fleet status/clean cannot tell this host's targets without it (--ecs-introspection-endpoint off on a host without an ECS agent)`);
        });
        return `${id.containerInstanceArn} of cluster ${id.cluster} (the address attribute goes there)`;
      }),
  );
  results.push(
    await probe('state', async () => {
      await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
      await access(config.stateDir, constants.W_OK);
      const state = await parts.store.load();
      const recovery = parts.store.recovery;
      if (recovery !== undefined) throw new Error(`${recovery.problem}; \`run\` moves it aside and starts over from the targets on the current address`);
      const writeProblem = await probeWrite(config.stateDir);
      if (writeProblem !== undefined) throw new Error(`cannot write to ${config.stateDir}: ${writeProblem}`);
      return `${parts.store.path} readable and writable, ${state.targets.length} owned target(s)`;
    }),
  );
  return results;
}

export async function runChecks(parts: Parts, json: boolean): Promise<number> {
  const results = await collectChecks(parts);
  const failed = results.filter((r) => !r.ok);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: failed.length === 0, checks: results }, null, 2)}\n`);
  } else {
    for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}\n`);
    process.stdout.write(failed.length === 0 ? 'all checks passed\n' : `${failed.length} check(s) failed\n`);
  }
  return failed.length === 0 ? EXIT_OK : EXIT_FAILURE;
}
