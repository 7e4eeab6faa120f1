/**
 * `config validate`, `config set`, `config get` and `iam-policy`: the agent's own rules
 * applied to a configuration file offline (no Docker, no AWS), so that the installer, the
 * packages and a user editing agent.env all meet the same checks as `run` at start-up.
 */
import { constants } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CommandLine } from '../cli.ts';
import { checkStorableValue, configKey, editConfigFile, readConfigLines, shownValue, unknownError } from '../config-file.ts';
import { envName, optionSpec } from '../config-options.ts';
import { buildConfig, readOption, resolveFileText, resolveOptions, type AgentConfig, type ResolvedOptions } from '../config.ts';
import { readTargetGroupArns } from '../config-readers.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import { AWS_REGION_PATTERN, fleetCleanPolicy, iamPolicy, parseTagScope } from '../iam-policy.ts';
import { loadMappingFile } from '../mapping/mapping-file.ts';
import { EXIT_CONFIG, EXIT_NOT_SET, EXIT_OK } from '../exit-codes.ts';

/** Where a command's output goes (process.stdout / process.stderr; strings in tests). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};


/**
 * Every problem start-up would stop at, short of Docker and AWS: unknown ECS_ANYWHERE_LB_*
 * names, the first invalid option (buildConfig stops there), the mapping file, and an
 * AWS_REGION that is no region.
 */
export async function configurationProblems(resolved: ResolvedOptions): Promise<{ errors: ConfigError[]; config?: AgentConfig }> {
  const errors: ConfigError[] = resolved.unknown.map(unknownError);
  const region = resolved.env.AWS_REGION;
  if (region !== undefined && region !== '' && !AWS_REGION_PATTERN.test(region)) errors.push(new ConfigError('AWS_REGION', `"${region}" is not an AWS region such as eu-west-1`));
  let config: AgentConfig | undefined;
  try {
    config = buildConfig(resolved.options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    errors.push(err);
  }
  if (config?.mappingFile !== undefined) {
    try {
      await loadMappingFile(config.mappingFile);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(err);
    }
  }
  return { errors, ...(config !== undefined ? { config } : {}) };
}

/** Keys a file sets more than once: systemd and the agent take the last, which may not be the one the reader sees. */
function duplicateWarnings(text: string, file: string): string[] {
  const lines = new Map<string, number[]>();
  for (const l of readConfigLines(text, file)) lines.set(l.key, [...(lines.get(l.key) ?? []), l.line]);
  return [...lines].filter(([, at]) => at.length > 1).map(([key, at]) => `${key} is set on lines ${at.join(', ')} of ${file}; the last one counts`);
}

function configFileOf(cli: CommandLine, env: Record<string, string | undefined>): string {
  const file = cli.options.config ?? env[envName('config')];
  if (file === undefined || file === '') throw new ConfigError('--config', `config ${cli.action ?? ''} needs --config FILE`.replace('  ', ' '));
  return file;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('--config', `cannot read ${file}: ${errorMessage(err)}`);
  }
}

/** Replaces the file atomically (temp file, fsync, rename), keeping its mode and owner; a new file gets 0640. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const old = await stat(file).catch(() => undefined);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, old ? old.mode & 0o7777 : 0o640);
  try {
    await handle.writeFile(text);
    await handle.chmod(old ? old.mode & 0o7777 : 0o640);
    if (old) await handle.chown(old.uid, old.gid).catch(() => undefined);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function report(errors: readonly ConfigError[], io: Output): number {
  for (const e of errors) io.err(`ecs-anywhere-lb-agent: ${e.message}\n`);
  return EXIT_CONFIG;
}

/** `config validate`: the file, the environment and the flags, as `run` would take them. */
export async function configValidate(cli: CommandLine, env: Record<string, string | undefined>, io: Output = processOutput): Promise<number> {
  const resolved = resolveOptions(cli.options, env);
  const { errors } = await configurationProblems(resolved);
  if (errors.length > 0) return report(errors, io);
  const file = cli.options.config ?? env[envName('config')];
  if (file !== undefined) for (const w of duplicateWarnings(await readFile(file, 'utf8'), file)) io.err(`ecs-anywhere-lb-agent: warning: ${w}\n`);
  io.out(`valid: ${file ?? 'the environment and flags (no --config file)'}\n`);
  return EXIT_OK;
}

/**
 * `config set`: rewrites only the keys named, keeps every other line, and writes the file
 * only when the result is valid as the systemd unit would read it (the file alone).
 */
export async function configSet(cli: CommandLine, env: Record<string, string | undefined>, io: Output = processOutput): Promise<number> {
  const file = configFileOf(cli, env);
  const set = cli.args.map((pair) => {
    const eq = pair.indexOf('=');
    const key = configKey(pair.slice(0, eq));
    const value = pair.slice(eq + 1);
    checkStorableValue(key, value);
    return [key, value] as const;
  });
  const unset = cli.unset.map((name) => configKey(name, true));
  const existing = await readIfExists(file);
  const edit = editConfigFile(existing, set, unset, file);
  const { errors } = await configurationProblems(resolveFileText(edit.text, file));
  if (errors.length > 0) {
    io.err(`ecs-anywhere-lb-agent: ${file} left unchanged: the result would be invalid\n`);
    return report(errors, io);
  }
  if (edit.text === existing) {
    io.out(`unchanged: ${file}\n`);
    return EXIT_OK;
  }
  await writeAtomically(file, edit.text).catch((err: unknown) => {
    throw new Error(`cannot write ${file}: ${errorMessage(err)}`, { cause: err });
  });
  for (const c of edit.changes) io.out(`${c}\n`);
  io.out(`${existing === undefined ? 'created' : 'updated'} ${file}\n`);
  return EXIT_OK;
}

/** `config get`: the value the file gives the key (the last line that sets it, as systemd reads it). */
export async function configGet(cli: CommandLine, env: Record<string, string | undefined>, io: Output = processOutput): Promise<number> {
  const file = configFileOf(cli, env);
  const key = configKey(cli.args[0] as string, true);
  const text = await readIfExists(file);
  const value = text === undefined ? undefined : readConfigLines(text, file).filter((l) => l.key === key).at(-1)?.value;
  if (value === undefined) return EXIT_NOT_SET;
  io.out(`${shownValue(key, value)}\n`);
  return EXIT_OK;
}

/** `iam-policy`: the policy for the allowed target groups, from --target-groups or the configuration `run` would use. */
export function printIamPolicy(cli: CommandLine, env: Record<string, string | undefined>, io: Output = processOutput): number {
  const resolved = resolveOptions(cli.options, env);
  let allowed: string[];
  try {
    allowed = readTargetGroupArns(resolved.options['allowed-target-groups'] ?? '');
  } catch (err) {
    throw new ConfigError('--target-groups (ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS)', errorMessage(err));
  }
  const flag = (name: string) => readOption<boolean>(optionSpec(name), resolved.options[name] ?? 'false');
  const allowAny = flag('allow-any-target-group');
  const region = cli.region ?? resolved.env.AWS_REGION;
  const account = cli.account ?? resolved.env.AWS_ACCOUNT_ID;
  const readServiceTags = flag('read-service-tags');
  const scope = {
    allowedTargetGroups: allowed,
    allowAnyTargetGroup: allowAny,
    ...(region !== undefined ? { region } : {}),
    ...(account !== undefined ? { account } : {}),
    ...(cli.tagScoped !== undefined ? { tagScope: parseTagScope(cli.tagScoped) } : {}),
    readServiceTags,
    ...(cli.cluster !== undefined ? { cluster: cli.cluster } : {}),
  };
  const policy = cli.fleetClean ? fleetCleanPolicy(scope) : iamPolicy(scope);
  io.out(`${JSON.stringify(policy, null, 2)}\n`);
  return EXIT_OK;
}
