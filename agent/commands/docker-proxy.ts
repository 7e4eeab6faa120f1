/**
 * `docker-proxy`: serves the agent's Docker reads (docker/docker-proxy.ts) on the socket
 * systemd passes (ecs-anywhere-lb-agent-docker-proxy.socket, LISTEN_FDS), or else on
 * --docker-host's path, and forwards them to the engine at DOCKER_HOST (default
 * /var/run/docker.sock). It runs until SIGTERM or SIGINT.
 */
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { createDockerProxy } from '../docker/docker-proxy.ts';
import { DOCKER_ENGINE_SOCKET, parseDockerEndpoint, showDockerEndpoint, type DockerEndpoint } from '../docker-endpoint.ts';
import { optionSpec } from '../config-options.ts';
import { optionFlag, readOption } from '../config.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';

/** The first socket systemd passes (sd_listen_fds(3)): fd 3, when LISTEN_PID names this process. */
export const SD_LISTEN_FDS_START = 3;

/** Where the proxy listens: the passed socket, or a path. */
export type ProxyListen = { readonly fd: number } | { readonly path: string };

/** The passed socket when systemd (or systemd-socket-activate) started this process for one, else --docker-host's unix path. */
export function proxyListenOf(env: Record<string, string | undefined>, dockerHost: string, pid: number): ProxyListen {
  if (env.LISTEN_FDS !== undefined && env.LISTEN_PID === String(pid)) {
    if (env.LISTEN_FDS !== '1') throw new ConfigError('LISTEN_FDS', `the docker-proxy takes exactly one socket, systemd passed ${env.LISTEN_FDS}`);
    return { fd: SD_LISTEN_FDS_START };
  }
  const endpoint = readOption<DockerEndpoint>(optionSpec('docker-host'), dockerHost);
  if (!('socketPath' in endpoint)) throw new ConfigError(optionFlag('docker-host'), 'the docker-proxy listens on a unix socket only (unix:///PATH)');
  return { path: endpoint.socketPath };
}

/** The engine's socket: DOCKER_HOST (unix:// only), default /var/run/docker.sock. */
export function engineSocketOf(env: Record<string, string | undefined>): string {
  let endpoint: DockerEndpoint;
  try {
    endpoint = parseDockerEndpoint(env.DOCKER_HOST || DOCKER_ENGINE_SOCKET);
  } catch (err) {
    throw new ConfigError('DOCKER_HOST', errorMessage(err));
  }
  if (!('socketPath' in endpoint)) throw new ConfigError('DOCKER_HOST', `${showDockerEndpoint(endpoint)}: the docker-proxy reaches the engine over its unix socket only`);
  return endpoint.socketPath;
}

/** Runs the proxy until a stop signal; resolves to the exit code. */
export async function runDockerProxy(listen: ProxyListen, engineSocket: string, log: Log): Promise<number> {
  const server = createDockerProxy({
    upstreamSocket: engineSocket,
    onRefused: (method, url, reason) => log.warn(`refused ${method} ${url.slice(0, 200)}: ${reason}`, { event: 'docker-proxy-refused', method, reason }),
    onUpstreamError: (err) => log.warn(`cannot reach Docker at ${engineSocket}: ${err.message}`, { event: 'docker-proxy-upstream-error' }),
  });
  if ('path' in listen) {
    // A socket left by an earlier run would make listen() fail; anything else at the path is not ours to remove.
    const stale = (() => { try { return lstatSync(listen.path); } catch { return undefined; } })();
    if (stale?.isSocket()) rmSync(listen.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('fd' in listen) server.listen({ fd: listen.fd }, resolve);
    else server.listen(listen.path, resolve);
  });
  // Only the owner (root, the agent's user) may connect: the socket is what the proxy allows, and no more should reach it.
  if ('path' in listen) chmodSync(listen.path, 0o600);
  const where = 'fd' in listen ? `the socket systemd passed (fd ${listen.fd})` : listen.path;
  log.info(`docker-proxy serving the agent's Docker reads on ${where}, forwarding to ${engineSocket}`, { event: 'docker-proxy-listening', ...('path' in listen ? { path: listen.path } : { fd: listen.fd }), engine: engineSocket });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return 0;
}
