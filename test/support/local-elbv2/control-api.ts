/**
 * A small control API on the endpoint's own port, for switching faults and throttling at run
 * time when the endpoint runs as a process (`npm run local-elbv2`) and a test, a demo or a
 * soak drives it from outside. Paths under `/_local/` never clash with the AWS query protocol
 * (every ELBv2 action is `POST /` with a form body, or `GET /?Action=...`).
 *
 *   GET    /_local/faults        -> 200 the fault settings in force (JSON)
 *   PUT    /_local/faults        <- a partial update, e.g. {"serviceUnavailable": 0.5, "times": 20}
 *   DELETE /_local/faults        -> every fault off
 *   PUT    /_local/throttle      <- per-class buckets, e.g. {"change": {"ratePerSecond": 4, "burst": 20}}
 *   DELETE /_local/throttle      -> no per-class throttling
 *   PUT    /_local/ecs/agent-connected
 *                                <- {"cluster": "edge", "containerInstance": "ID or ARN", "agentConnected": false}:
 *                                   the instance's ECS agent went away (a dead host) or came back
 *
 * Bad input gets 400 with a JSON {"error": "..."} naming what is wrong; nothing changes then.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccountThrottleSettings } from './account-throttle.ts';
import type { FaultSettings, FaultUpdate } from './fault-injector.ts';

/** The path prefix of the control API. */
export const CONTROL_PREFIX = '/_local/';

/** What the control API can change. */
export interface ControlTarget {
  faults(): FaultSettings;
  setFaults(update: FaultUpdate): void;
  clearFaults(): void;
  setAccountThrottle(settings: AccountThrottleSettings | undefined): void;
  /** Marks a container instance's ECS agent connected or not; throws naming an unknown cluster or instance. */
  setAgentConnected(cluster: string, containerInstance: string, connected: boolean): void;
}

const MAX_CONTROL_BODY = 64 * 1024;
const FAULT_KEYS = new Set(['latencyMs', 'latencyProbability', 'internalError', 'serviceUnavailable', 'dropConnection', 'responseLost', 'throttle', 'actions', 'times']);
const CLASS_KEYS = new Set(['describe', 'change', 'other']);

/** Whether a request is for the control API. */
export const isControlRequest = (req: IncomingMessage): boolean => (req.url ?? '').startsWith(CONTROL_PREFIX);

/** Answers one control request. */
export async function handleControl(target: ControlTarget, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://local-elbv2').pathname;
  try {
    if (path === `${CONTROL_PREFIX}faults`) {
      if (req.method === 'GET') return reply(res, 200, target.faults());
      if (req.method === 'DELETE') {
        target.clearFaults();
        return reply(res, 200, target.faults());
      }
      if (req.method === 'PUT' || req.method === 'POST') {
        target.setFaults(parseFaultUpdate(await readJson(req)));
        return reply(res, 200, target.faults());
      }
    } else if (path === `${CONTROL_PREFIX}throttle`) {
      if (req.method === 'DELETE') {
        target.setAccountThrottle(undefined);
        return reply(res, 200, {});
      }
      if (req.method === 'PUT' || req.method === 'POST') {
        const settings = parseThrottle(await readJson(req));
        target.setAccountThrottle(settings);
        return reply(res, 200, settings);
      }
    } else if (path === `${CONTROL_PREFIX}ecs/agent-connected`) {
      if (req.method === 'PUT' || req.method === 'POST') {
        const change = parseAgentConnected(await readJson(req));
        target.setAgentConnected(change.cluster, change.containerInstance, change.agentConnected);
        return reply(res, 200, change);
      }
    } else {
      return reply(res, 404, { error: `no control resource ${path} (known: ${CONTROL_PREFIX}faults, ${CONTROL_PREFIX}throttle, ${CONTROL_PREFIX}ecs/agent-connected)` });
    }
    return reply(res, 405, { error: `${req.method ?? '?'} is not supported on ${path}` });
  } catch (error) {
    return reply(res, 400, { error: error instanceof Error ? error.message : String(error) });
  }
}

/** Checks a fault update's keys and value types (FaultInjector.set checks the ranges). */
export function parseFaultUpdate(json: unknown): FaultUpdate {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('faults: expected a JSON object');
  for (const [key, value] of Object.entries(json)) {
    if (!FAULT_KEYS.has(key)) throw new Error(`faults: unknown key '${key}' (known: ${[...FAULT_KEYS].join(', ')})`);
    if (key === 'actions') {
      if (value !== undefined && value !== null && !(Array.isArray(value) && value.every((a) => typeof a === 'string'))) throw new Error('faults: actions must be a list of action names');
    } else if (key === 'times') {
      if (value !== null && typeof value !== 'number') throw new Error('faults: times must be a number or null');
    } else if (typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`faults: ${key} must be a number${key === 'latencyMs' ? '' : ' (a probability) or a boolean'}`);
    }
  }
  // null switches a limit off, as absent does in FaultSettings.
  const update = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, v === null ? undefined : v]));
  return update as FaultUpdate;
}

/** Checks per-class throttle settings. */
export function parseThrottle(json: unknown): AccountThrottleSettings {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('throttle: expected a JSON object');
  for (const [key, value] of Object.entries(json)) {
    if (!CLASS_KEYS.has(key)) throw new Error(`throttle: unknown API class '${key}' (known: describe, change, other)`);
    const v = value as { ratePerSecond?: unknown; burst?: unknown } | null;
    if (typeof v !== 'object' || v === null || typeof v.ratePerSecond !== 'number' || !(v.ratePerSecond >= 0) || typeof v.burst !== 'number' || !(v.burst >= 1)) {
      throw new Error(`throttle: ${key} must be {"ratePerSecond": >= 0, "burst": >= 1}`);
    }
  }
  return json as AccountThrottleSettings;
}

/** Checks an agent-connected change. */
export function parseAgentConnected(json: unknown): { cluster: string; containerInstance: string; agentConnected: boolean } {
  const v = json as { cluster?: unknown; containerInstance?: unknown; agentConnected?: unknown } | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('ecs/agent-connected: expected a JSON object');
  if (typeof v.cluster !== 'string' || v.cluster === '') throw new Error('ecs/agent-connected: cluster must be a cluster name or ARN');
  if (typeof v.containerInstance !== 'string' || v.containerInstance === '') throw new Error('ecs/agent-connected: containerInstance must be a container instance ID or ARN');
  if (typeof v.agentConnected !== 'boolean') throw new Error('ecs/agent-connected: agentConnected must be true or false');
  return { cluster: v.cluster, containerInstance: v.containerInstance, agentConnected: v.agentConnected };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY) throw new Error(`body larger than ${MAX_CONTROL_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(`${JSON.stringify(body)}\n`, 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length });
  res.end(payload);
}
