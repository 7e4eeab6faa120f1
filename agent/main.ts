/**
 * Composition root: parses the command line, builds the configuration, has wiring.ts build the
 * clients and the parts, and hands them to the command. Only this file decides exit codes.
 */
import { helpText, parseCommandLine } from './cli.ts';
import { buildConfig, proxyLogOptions, resolveOptions, type AgentConfig } from './config.ts';
import { DEFAULT_DOCKER_HOST } from './config-options.ts';
import { unknownWarning, type UnknownName } from './config-file.ts';
import { configGet, configSet, configValidate, printIamPolicy } from './commands/config.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { createLogger } from './log.ts';
import { AGENT_COMMIT, AGENT_VERSION } from './version.ts';
import type { Parts } from './commands/parts.ts';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from './exit-codes.ts';


/** Runs the command line; resolves to the process exit code. */
export async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  let config: AgentConfig;
  let cli;
  let unknown: readonly UnknownName[] = [];
  try {
    cli = parseCommandLine(argv);
    if (cli.help || (cli.command === undefined && !cli.version)) {
      (cli.help ? process.stdout : process.stderr).write(`${helpText()}\n`);
      return cli.help ? EXIT_OK : EXIT_CONFIG;
    }
    if (cli.version) {
      process.stdout.write(`ecs-anywhere-lb-agent ${AGENT_VERSION} (commit ${AGENT_COMMIT}, node ${process.versions.node})\n`);
      return EXIT_OK;
    }
    if (cli.command === 'deregister' && !cli.all) throw new ConfigError('deregister', 'pass --all to deregister every target of this host');
    // Offline commands: the configuration itself, no Docker, no AWS.
    if (cli.command === 'config') {
      if (cli.action === 'set') return await configSet(cli, env);
      if (cli.action === 'get') return await configGet(cli, env);
      return await configValidate(cli, env);
    }
    const resolved = resolveOptions(cli.options, env);
    unknown = resolved.unknown;
    if (cli.command !== 'run') for (const u of unknown) process.stderr.write(`ecs-anywhere-lb-agent: warning: ${unknownWarning(u)}\n`);
    if (cli.command === 'iam-policy') return printIamPolicy(cli, env);
    if (cli.command === 'docker-proxy') {
      const { proxyListenOf, engineSocketOf, runDockerProxy } = await import('./commands/docker-proxy.ts');
      const { logFormat, logLevel } = proxyLogOptions(resolved.options);
      const listen = proxyListenOf(env, resolved.options['docker-host'] ?? DEFAULT_DOCKER_HOST, process.pid);
      return await runDockerProxy(listen, engineSocketOf(env), createLogger({ format: logFormat, level: logLevel }).child({ component: 'docker-proxy' }));
    }
    // From an operator's machine: ECS and ELBv2 only, no Docker, no host.
    if (cli.command === 'fleet') return await (await import('./commands/fleet.ts')).runFleet(cli, resolved);
    config = buildConfig(resolved.options);
    env = resolved.env;
  } catch (err) {
    process.stderr.write(`ecs-anywhere-lb-agent: ${errorMessage(err)}\n`);
    // `config set` can also fail to write the file (permissions, a full disk): that is no configuration error.
    return err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE;
  }

  let parts: Parts;
  try {
    parts = await (await import('./wiring.ts')).buildParts(config, env, cli.command);
  } catch (err) {
    process.stderr.write(`ecs-anywhere-lb-agent: ${errorMessage(err)}\n`);
    return err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE;
  }
  switch (cli.command) {
    case 'run':
      return (await import('./commands/run.ts')).runAgent(parts, unknown);
    case 'status':
      return (await import('./commands/status.ts')).printStatus(parts, cli.json);
    case 'check':
      return (await import('./commands/check.ts')).runChecks(parts, cli.json);
    case 'deregister':
      return (await import('./commands/deregister.ts')).deregisterAll(parts);
    default:
      return EXIT_CONFIG;
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ecs-anywhere-lb-agent: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
