/**
 * The plan: desired endpoints against what the target groups hold, as explicit lists of
 * registrations and deregistrations per group. Pure: no I/O, clock or logger.
 *
 * Invariants: only this host's targets are ever deregistered (any target on its current
 * address, and on earlier addresses only the exact targets it recorded); a target already
 * draining is never deregistered again; a group that could not be read is left alone.
 */
import { targetKey, type ActualTarget, type TargetRef } from '../core/target-registry.ts';
import type { DesiredEndpoint } from '../mapping/desired.ts';

/**
 * A state a view gives a target whose RegisterTargets got no usable answer (timeout, 5xx,
 * network): it may or may not be in the group. The plan registers it again when it is
 * wanted and deregisters it when it is not; both calls are idempotent.
 */
export const OUTCOME_UNKNOWN = 'outcome-unknown';

export type DeregisterWhy = 'address-changed' | 'not-desired';

export interface GroupPlan {
  readonly targetGroupArn: string;
  /** `moved`: the port is registered on an earlier address of this host: a move, not a new target. */
  readonly register: { target: TargetRef; endpoint: DesiredEndpoint; moved?: boolean }[];
  readonly deregister: { target: TargetRef; why: DeregisterWhy }[];
}

export interface PlanInput {
  readonly endpoints: readonly DesiredEndpoint[];
  /** Contents of the groups that were read successfully this run. */
  readonly actual: ReadonlyMap<string, readonly ActualTarget[]>;
  /** Addresses on which every target is this host's: its current address. */
  readonly ownedAddresses: ReadonlySet<string>;
  /**
   * Targets this host recorded registering (`targetKey`), e.g. on an earlier address. Only
   * these are its own there: another host may have been given that address since.
   */
  readonly ownedTargets?: ReadonlySet<string>;
  /** The address to register now; undefined when none is usable (then nothing is registered). */
  readonly address?: string;
  /** AvailabilityZone to register the current address with (undefined inside the VPC). */
  readonly availabilityZone?: string;
  /** Groups that take a real zone instead (they refused `all`: cross-zone load balancing off), by ARN; only outside the VPC. */
  readonly groupZones?: ReadonlyMap<string, string>;
}

const key = (id: string, port: number) => `${id}|${port}`;

/**
 * Whether a target in a group is this host's: any target on an owned (current) address,
 * and on earlier addresses only the exact targets it recorded.
 */
export function isOwned(
  ownedAddresses: { has(address: string): boolean },
  ownedTargets: { has(key: string): boolean } | undefined,
  targetGroupArn: string,
  t: { id: string; port: number },
): boolean {
  return ownedAddresses.has(t.id) || ownedTargets?.has(targetKey(targetGroupArn, t.id, t.port)) === true;
}

/** Computes the changes for every group that was read; groups without changes are omitted. */
export function plan(input: PlanInput): GroupPlan[] {
  const plans: GroupPlan[] = [];
  for (const [targetGroupArn, actual] of input.actual) {
    const endpoints = input.endpoints.filter((e) => e.targetGroupArn === targetGroupArn);
    const present = new Set(actual.filter((t) => t.state !== 'draining' && t.state !== OUTCOME_UNKNOWN).map((t) => key(t.id, t.port)));
    const register: GroupPlan['register'] = [];
    const zone = input.availabilityZone !== undefined ? (input.groupZones?.get(targetGroupArn) ?? input.availabilityZone) : undefined;
    const wanted = new Set<string>();
    const keptPorts = new Set(endpoints.map((e) => e.port));
    const elsewhere = new Set(
      actual.filter((t) => t.state !== 'draining' && t.id !== input.address && isOwned(input.ownedAddresses, input.ownedTargets, targetGroupArn, t)).map((t) => t.port),
    );
    if (input.address !== undefined) {
      for (const endpoint of endpoints) {
        const k = key(input.address, endpoint.port);
        if (wanted.has(k)) continue;
        wanted.add(k);
        if (present.has(k)) continue;
        const target: TargetRef = {
          id: input.address,
          port: endpoint.port,
          ...(zone !== undefined ? { availabilityZone: zone } : {}),
        };
        register.push({ target, endpoint, ...(elsewhere.has(endpoint.port) ? { moved: true } : {}) });
      }
    }
    const deregister: GroupPlan['deregister'] = [];
    for (const t of actual) {
      if (t.state === 'draining' || !isOwned(input.ownedAddresses, input.ownedTargets, targetGroupArn, t)) continue;
      // Without a usable address, targets of containers still serving stay where they are.
      const keep = input.address !== undefined ? wanted.has(key(t.id, t.port)) : keptPorts.has(t.port);
      if (keep) continue;
      const target: TargetRef = { id: t.id, port: t.port, ...(t.availabilityZone !== undefined ? { availabilityZone: t.availabilityZone } : {}) };
      deregister.push({ target, why: input.address !== undefined && t.id !== input.address ? 'address-changed' : 'not-desired' });
    }
    if (register.length > 0 || deregister.length > 0) plans.push({ targetGroupArn, register, deregister });
  }
  return plans;
}
