/**
 * The mapping file: target groups for task definitions whose labels can't be changed.
 * JSON: {"mappings": [{"family": "web", "containerName": "app", "targetGroupArn": "arn:...", "containerPort": 8080}]}
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';
import { isTargetGroupArn } from '../core/arn.ts';
import type { TargetRequest } from './labels.ts';

/** One rule: containers of this task family and container name join this group. */
export interface MappingRule {
  readonly family: string;
  readonly containerName: string;
  readonly targetGroupArn: string;
  readonly containerPort?: number;
}

const OPTION = '--mapping-file (ECS_ANYWHERE_LB_MAPPING_FILE)';

/** Validates the parsed JSON of a mapping file; throws a ConfigError naming the entry and field. */
export function parseMappingRules(json: unknown, source: string): MappingRule[] {
  const fail = (where: string, message: string): never => {
    throw new ConfigError(OPTION, `${source}: ${where}: ${message}`);
  };
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { mappings?: unknown }).mappings)) {
    return fail('top level', 'expected an object with a "mappings" array');
  }
  return (json as { mappings: unknown[] }).mappings.map((entry, i): MappingRule => {
    const where = `mappings[${i}]`;
    if (typeof entry !== 'object' || entry === null) return fail(where, 'expected an object');
    const e = entry as Record<string, unknown>;
    const text = (key: string): string => {
      const v = e[key];
      if (typeof v !== 'string' || v.trim() === '') return fail(`${where}.${key}`, 'required non-empty string');
      return v.trim();
    };
    const family = text('family');
    const containerName = text('containerName');
    const targetGroupArn = text('targetGroupArn');
    if (!isTargetGroupArn(targetGroupArn)) fail(`${where}.targetGroupArn`, `"${targetGroupArn}" is not a target group ARN`);
    const port = e.containerPort;
    if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
      fail(`${where}.containerPort`, `${JSON.stringify(port)} is not a port number (1-65535)`);
    }
    return { family, containerName, targetGroupArn, ...(typeof port === 'number' ? { containerPort: port } : {}) };
  });
}

/** Reads and validates a mapping file. */
export async function loadMappingFile(path: string): Promise<MappingRule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(OPTION, `cannot read ${path}: ${errorMessage(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(OPTION, `${path} is not valid JSON: ${errorMessage(err)}`);
  }
  return parseMappingRules(json, path);
}

/**
 * The rules of a mapping file as last read successfully. The file is read again when it
 * changes; a version that cannot be used (garbage, a half-saved edit, a bad entry, gone)
 * keeps the last good rules, so the containers mapped through it stay registered.
 */
export class MappingFileRules {
  private rules: readonly MappingRule[];

  constructor(
    readonly path: string,
    initial: readonly MappingRule[],
    private readonly log: Log,
    /** Called with each new good version (the composition root keeps a copy for a restart with a damaged file). */
    private readonly onGood?: (rules: readonly MappingRule[]) => void,
  ) {
    this.rules = initial;
  }

  /** The rules in force. */
  current(): readonly MappingRule[] {
    return this.rules;
  }

  /** Reads the file again; true when the rules in force changed. */
  async reload(): Promise<boolean> {
    let next: MappingRule[];
    try {
      next = await loadMappingFile(this.path);
    } catch (err) {
      this.log.error(`cannot reload the mapping file ${this.path}: ${errorMessage(err)}; keeping the last good mapping (${this.rules.length} rule(s))`, {
        event: 'mapping-reload-failed', path: this.path, error: errorMessage(err), rules: this.rules.length,
      });
      return false;
    }
    if (JSON.stringify(next) === JSON.stringify(this.rules)) return false;
    this.log.info(`mapping file ${this.path} reloaded: ${next.length} rule(s)`, { event: 'mapping-reloaded', path: this.path, rules: next.length });
    this.rules = next;
    this.onGood?.(next);
    return true;
  }
}

/** The requests the rules make for a container of this family and name. */
export function requestsFromRules(rules: readonly MappingRule[], family: string | undefined, containerName: string | undefined): TargetRequest[] {
  if (family === undefined || containerName === undefined) return [];
  return rules
    .filter((r) => r.family === family && r.containerName === containerName)
    .map((r) => ({ targetGroupArn: r.targetGroupArn, ...(r.containerPort !== undefined ? { containerPort: r.containerPort } : {}), source: 'mapping-file' }));
}
