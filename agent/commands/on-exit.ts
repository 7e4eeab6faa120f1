/**
 * What `run` does with this host's targets when it stops (--on-exit): keep them (a restart or
 * an upgrade: no blip), or deregister them and wait for them to drain (the host shuts down).
 * Resolves to the exit code.
 */
import { isHostStopping } from '../host/shutdown.ts';
import type { Parts } from './parts.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';

export async function leaveOnExit(parts: Parts): Promise<number> {
  const { config, log, reconciler } = parts;
  let deregister = config.onExit === 'deregister';
  if (config.onExit === 'auto') {
    deregister = await isHostStopping();
    log.info(deregister ? 'host is shutting down: deregistering this host\'s targets' : 'agent restart (host not shutting down): keeping targets registered', { event: 'exit-decision', deregister });
  }
  if (!deregister) return EXIT_OK;
  const { deregistered, failed } = await reconciler.deregisterAll('agent-exit');
  if (deregistered.length > 0 && config.drainTimeoutMs > 0) {
    log.info(`waiting up to ${config.drainTimeoutMs} ms for ${deregistered.length} target(s) to drain`, { event: 'draining', targets: deregistered.length });
    const left = await reconciler.waitForDrain(deregistered, config.drainTimeoutMs);
    log.info(left.length === 0 ? 'all deregistered targets drained' : `${left.length} target(s) still draining at the drain timeout`, { event: 'drained', remaining: left.length });
  }
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
}
