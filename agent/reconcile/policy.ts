/**
 * The decisions around the plan, pure and tested by tables: which groups are in play, which
 * zone an address is registered with, what a failed call asks for, which deregistrations
 * make-before-break holds back, which registrations are spread over the fleet's window, and why
 * a target was deregistered (for the log line).
 */
import type { ContainerSnapshot } from '../core/container.ts';
import { OperationError } from '../errors.ts';
import { cidrContains, type Cidr } from '../core/ipv4.ts';
import type { OwnedTarget } from '../core/state.ts';
import type { TargetRef } from '../core/target-registry.ts';
import type { DesiredEndpoint } from '../mapping/desired.ts';
import type { DeregisterWhy, GroupPlan } from './plan.ts';

/** The groups a pass looks at: the allowed ones, the ones containers ask for, and the ones this host has records in. Sorted. */
export function groupsInPlay(allowed: readonly string[] | undefined, endpoints: readonly DesiredEndpoint[], records: readonly OwnedTarget[]): string[] {
  return [...new Set([...(allowed ?? []), ...endpoints.map((e) => e.targetGroupArn), ...records.map((t) => t.targetGroupArn)])].sort();
}

/** The AvailabilityZone to register an address with: none inside the VPC, the configured one (default `all`) outside. */
export function availabilityZoneFor(address: string | undefined, vpcCidrs: readonly Cidr[], configured: string): string | undefined {
  if (address === undefined || vpcCidrs.some((c) => cidrContains(c, address))) return undefined;
  return configured;
}

/**
 * Whether RegisterTargets was refused because the group takes no `AvailabilityZone: all` (its
 * cross-zone load balancing is off): a ValidationError saying "you must specify an
 * Availability Zone", the words the AWS Load Balancer Controller recognises it by
 * (pkg/targetgroupbinding/resource_manager.go, isAZValidationError).
 */
export function isZoneRefusal(err: unknown): boolean {
  return err instanceof OperationError && err.code === 'ValidationError' && /you must specify an Availability Zone/i.test(err.message);
}

/** What a failed change call's error asks for: a real zone (the group refuses `all`), a split (one bad target), or nothing more. */
export function failedCallAsks(action: string, err: unknown, batch: readonly TargetRef[]): 'zone-refused' | 'split' | 'failed' {
  if (action === 'RegisterTargets' && isZoneRefusal(err) && batch.some((t) => t.availabilityZone === 'all')) return 'zone-refused';
  if (err instanceof OperationError && err.code === 'InvalidTarget' && batch.length > 1) return 'split';
  return 'failed';
}

/**
 * The zones a target of a group can be registered in: those every one of its load balancers
 * is enabled in (with cross-zone load balancing off, a target receives traffic only from the
 * load balancer nodes of its own zone), else those any is enabled in. Sorted.
 */
export function zonesForTargets(loadBalancers: readonly { readonly zones: readonly string[] }[]): string[] {
  const lists = loadBalancers.map((lb) => new Set(lb.zones)).filter((s) => s.size > 0);
  if (lists.length === 0) return [];
  const every = [...(lists[0] as Set<string>)].filter((z) => lists.every((s) => s.has(z)));
  return (every.length > 0 ? every : [...new Set(lists.flatMap((s) => [...s]))]).sort();
}

/** One zone of the list for this host, the same on every run (FNV-1a of the host id): a fleet spreads over the zones. */
export function zoneForHost(zones: readonly string[], hostId: string): string | undefined {
  if (zones.length === 0) return undefined;
  let hash = 0x811c9dc5;
  for (let i = 0; i < hostId.length; i++) hash = Math.imul(hash ^ hostId.charCodeAt(i), 0x01000193) >>> 0;
  return [...zones].sort()[hash % zones.length];
}

/**
 * Make-before-break: a target left on an old address is deregistered only once its
 * replacement (same port) is in. Returns the deregistrations to send, given which of the
 * plan's registrations succeeded.
 */
export function deregistrationsAfter(p: GroupPlan, registered: (target: TargetRef) => boolean): GroupPlan['deregister'] {
  const notReplaced = new Set(p.register.filter(({ target }) => !registered(target)).map(({ target }) => target.port));
  return p.deregister.filter((d) => d.why !== 'address-changed' || !notReplaced.has(d.target.port));
}

/**
 * Leaves out registrations of targets held back (refused by the API for a reason of their
 * own, until the next periodic run), and with them the old-address deregistrations of the
 * same port: make-before-break keeps the old target while its replacement cannot go in.
 */
export function withoutHeld(p: GroupPlan, held: (target: TargetRef) => boolean): GroupPlan {
  const heldPorts = new Set(p.register.filter(({ target }) => held(target)).map(({ target }) => target.port));
  if (heldPorts.size === 0) return p;
  return {
    ...p,
    register: p.register.filter(({ target }) => !held(target)),
    deregister: p.deregister.filter((d) => d.why !== 'address-changed' || !heldPorts.has(d.target.port)),
  };
}

/**
 * Whether a registration waits for this host's moment in the fleet's change window instead
 * of going at once. A gated container's always does (ECS waits for the gate, so a fleet-wide
 * deployment goes at the account's pace instead of into throttling). A move to a new address
 * does only under pressure (`pressed`: this host's change pace was throttled and has not
 * recovered yet): a lone VPN reconnect moves at once, while in a fleet-wide renumbering each
 * host spends at most one throttled call before it spreads its moves like the rest.
 */
export function spreads(r: { readonly moved?: boolean; readonly endpoint: { readonly gated?: true } }, pressed: boolean): boolean {
  return r.endpoint.gated === true || (r.moved === true && pressed);
}

/** Why a target was deregistered, from the plan's reason and what its container is doing now. */
export function deregisterReason(why: DeregisterWhy, container: ContainerSnapshot | undefined): string {
  if (why === 'address-changed') return 'address-changed';
  if (!container || !container.running) return 'container-gone';
  if (container.stopping) return 'container-stopping';
  if (container.health === 'unhealthy' || container.health === 'starting') return `container-${container.health}`;
  return 'no-longer-mapped';
}
