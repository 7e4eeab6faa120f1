/**
 * Where a process reaches Docker: a unix socket (unix:///path) or, for the direct engine only,
 * tcp://host:port. The agent's default is the docker-proxy's socket; the proxy itself reaches
 * the engine at DOCKER_HOST (default /var/run/docker.sock), Docker's own variable.
 */
export type DockerEndpoint = { readonly socketPath: string } | { readonly host: string; readonly port: number };

/** The engine's socket when DOCKER_HOST is unset. */
export const DOCKER_ENGINE_SOCKET = 'unix:///var/run/docker.sock';

/** Parses unix:///absolute/path or tcp://host:port; throws an Error saying what is wrong with the text. */
export function parseDockerEndpoint(text: string): DockerEndpoint {
  const t = text.trim();
  if (t.startsWith('unix://')) {
    const socketPath = t.slice('unix://'.length);
    if (socketPath.startsWith('/') && !socketPath.includes('\0')) return { socketPath };
  }
  const tcp = /^tcp:\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$/.exec(t);
  if (tcp && Number(tcp[2]) >= 1 && Number(tcp[2]) <= 65535) return { host: (tcp[1] as string).replace(/^\[|\]$/g, ''), port: Number(tcp[2]) };
  throw new Error(`"${text}" is not unix:///ABSOLUTE/PATH or tcp://HOST:PORT`);
}

/** The endpoint as text, for logs. */
export function showDockerEndpoint(e: DockerEndpoint): string {
  return 'socketPath' in e ? `unix://${e.socketPath}` : `tcp://${e.host}:${e.port}`;
}
