/**
 * The Docker socket proxy (`ecs-anywhere-lb-agent docker-proxy`): privilege separation, as
 * OpenSSH does it. The Docker socket is root on the host (whoever can call it can start a
 * privileged container), and the agent parses what containers, the network and AWS send it.
 * So the agent holds no Docker socket: this small process holds it and passes on only the five
 * reads the agent makes (list, inspect, events, the bridge network, version), by exact path
 * and query parameters. Everything else gets 403: other methods, paths, parameters, a request
 * body, an upgrade. Requests are rebuilt, not relayed byte for byte, so nothing the client
 * sends besides the checked method, path and query reaches Docker.
 */
import { request, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { connect } from 'node:net';

/** One allowed call: a path pattern (after an optional /vN.NN prefix) and the query parameters it may carry. */
interface Route {
  readonly name: string;
  readonly path: RegExp;
  readonly query: readonly string[];
  /** Streams for as long as both ends live: relayed as Docker sends it (relayStream). */
  readonly stream?: true;
}

/** The agent's Docker calls, and no other. */
export const DOCKER_PROXY_ROUTES: readonly Route[] = [
  { name: 'list containers', path: /^\/containers\/json$/, query: ['all'] },
  { name: 'inspect a container', path: /^\/containers\/[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\/json$/, query: [] },
  { name: 'events', path: /^\/events$/, query: ['filters', 'since'], stream: true },
  { name: 'inspect the bridge network', path: /^\/networks\/bridge$/, query: [] },
  { name: 'version', path: /^\/version$/, query: [] },
];

/** Bytes of a refused request's body read (and dropped) before the connection is cut. */
const REFUSED_BODY_LIMIT = 64 * 1024;

const API_VERSION_PREFIX = /^\/v1\.[0-9]{1,3}(?=\/)/;

/** Why a request is refused, or undefined when it is one of the allowed reads. Pure: the proxy's whole policy. */
export function refusalOf(method: string, url: string, headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  if (method !== 'GET') return `method ${method} not allowed: this proxy serves the agent's reads only (GET)`;
  if (!url.startsWith('/')) return 'not an origin-form request target';
  const parsed = new URL(url, 'http://docker');
  const path = apiPathOf(parsed);
  // The URL parser resolves dot segments and decodes nothing; the raw target must say the same as the parsed path.
  if (url.split('?')[0] !== parsed.pathname || /%/.test(parsed.pathname)) return `path ${JSON.stringify(url.split('?')[0])} is not in canonical form`;
  const route = routeOf(path);
  if (route === undefined) return `GET ${path} is not one of the agent's Docker calls`;
  const extra = [...parsed.searchParams.keys()].find((k) => !route.query.includes(k));
  if (extra !== undefined) return `query parameter ${JSON.stringify(extra)} not allowed for ${route.name}`;
  if (new Set(parsed.searchParams.keys()).size !== [...parsed.searchParams.keys()].length) return `a query parameter repeats for ${route.name}`;
  if (headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0')) return 'a request body is not allowed';
  if (headers.upgrade !== undefined) return 'connection upgrades are not allowed';
  return undefined;
}

/** Where the proxy forwards to: the Docker engine's unix socket. */
export interface DockerProxyOptions {
  readonly upstreamSocket: string;
  readonly onRefused?: (method: string, url: string, reason: string) => void;
  readonly onUpstreamError?: (err: Error) => void;
}

function answer(res: ServerResponse, status: number, message: string): void {
  const body = `${JSON.stringify({ message })}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
}

/** A request's path without its /vN.NN prefix. */
function apiPathOf(url: URL): string {
  return url.pathname.replace(API_VERSION_PREFIX, '');
}

/** The allowed call a path (without its /vN.NN prefix) names, if any. */
function routeOf(path: string): Route | undefined {
  return DOCKER_PROXY_ROUTES.find((r) => r.path.test(path));
}

/** Who asks Docker: every request the proxy rebuilds says so. */
const USER_AGENT = 'ecs-anywhere-lb-agent-docker-proxy';

/**
 * The event stream, relayed byte for byte as Docker answers it (its status line, headers and
 * chunks) over a connection of its own, rebuilt from the checked path and query: each event
 * costs this process one read and one write, not an HTTP parse and a re-encoding, so that a
 * `kill` reaches the agent as soon as it can (the stop path's first hop).
 */
function relayStream(req: IncomingMessage, res: ServerResponse, url: string, options: DockerProxyOptions): void {
  const client = req.socket;
  const upstream = connect(options.upstreamSocket, () => {
    upstream.write(`GET ${url} HTTP/1.1\r\nHost: docker\r\nUser-Agent: ${USER_AGENT}\r\nConnection: close\r\n\r\n`);
  });
  let relayed = false;
  upstream.on('data', (chunk: Buffer) => {
    relayed = true;
    if (!client.write(chunk)) upstream.pause();
  });
  client.on('drain', () => upstream.resume());
  upstream.on('end', () => client.end());
  upstream.on('error', (err) => {
    options.onUpstreamError?.(err);
    if (!relayed) answer(res, 502, `ecs-anywhere-lb-agent docker-proxy: cannot reach Docker at ${options.upstreamSocket}: ${err.message}`);
    else client.destroy();
  });
  client.on('close', () => upstream.destroy());
}

/** The proxy's HTTP server (not listening yet): the caller listens on a path or on a socket systemd passed. */
export function createDockerProxy(options: DockerProxyOptions): Server {
  const server = createServer({ maxHeaderSize: 8192 }, (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? '';
    const url = req.url ?? '';
    const refused = refusalOf(method, url, req.headers);
    if (refused !== undefined) {
      options.onRefused?.(method, url, refused);
      // The answer follows the (discarded) request body, so that the client reads it instead of a reset; a long body is cut off.
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > REFUSED_BODY_LIMIT) req.destroy();
      });
      req.on('end', () => answer(res, 403, `ecs-anywhere-lb-agent docker-proxy: ${refused}`));
      return;
    }
    // Allowed, so its path is canonical and its route known (refusalOf).
    if (routeOf(apiPathOf(new URL(url, 'http://docker')))?.stream) {
      relayStream(req, res, url, options);
      return;
    }
    const upstream = request({ socketPath: options.upstreamSocket, method: 'GET', path: url, headers: { host: 'docker', 'user-agent': USER_AGENT } }, (up) => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && k !== 'connection' && k !== 'transfer-encoding' && k !== 'keep-alive') headers[k] = v;
      res.writeHead(up.statusCode ?? 502, headers);
      res.flushHeaders();
      // Either end closing ends the other.
      up.pipe(res);
      up.on('error', () => res.destroy());
      up.on('aborted', () => res.destroy());
    });
    upstream.on('error', (err) => {
      options.onUpstreamError?.(err);
      if (!res.headersSent) answer(res, 502, `ecs-anywhere-lb-agent docker-proxy: cannot reach Docker at ${options.upstreamSocket}: ${err.message}`);
      else res.destroy();
    });
    res.on('close', () => upstream.destroy());
    upstream.end();
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}
