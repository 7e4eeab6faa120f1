/**
 * What this host registered and which addresses it used: the records that make ownership
 * provable after a restart, a crash or a changed address, and the port they are kept through.
 */
import { targetKey } from './target-registry.ts';

export const STATE_VERSION = 1;

/** A target this host registered, with the container it stood for. */
export interface OwnedTarget {
  readonly targetGroupArn: string;
  readonly id: string;
  readonly port: number;
  readonly availabilityZone?: string;
  readonly containerId?: string;
  readonly containerName?: string;
  readonly taskArn?: string;
}

export interface AgentState {
  readonly version: typeof STATE_VERSION;
  /** Every address this host has registered and may still own targets on. */
  readonly addresses: readonly string[];
  readonly targets: readonly OwnedTarget[];
  /**
   * Zones this host registers in, by target group ARN, for groups that refused
   * `AvailabilityZone: all` (cross-zone load balancing off); chosen once, kept across restarts.
   */
  readonly groupZones?: Readonly<Record<string, string>>;
  /**
   * Auto address mode: the VPN interface whose address this host registers. A restarted agent
   * that finds no VPN interface up then waits for it instead of registering the LAN address.
   */
  readonly vpnInterface?: string;
}

export const EMPTY_STATE: AgentState = { version: STATE_VERSION, addresses: [], targets: [] };

/** Records in key order (each key built once: a pass sorts every record it keeps). */
export function sortedByKey(records: Iterable<OwnedTarget>): OwnedTarget[] {
  const keyed = [...records].map((t) => [targetKey(t.targetGroupArn, t.id, t.port), t] as const);
  keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return keyed.map(([, t]) => t);
}

/** Records, with `added` replacing records of the same target; in key order, as a pass leaves them. */
export function mergeTargets(existing: readonly OwnedTarget[], added: readonly OwnedTarget[]): OwnedTarget[] {
  const out = new Map(existing.map((t) => [targetKey(t.targetGroupArn, t.id, t.port), t]));
  for (const t of added) out.set(targetKey(t.targetGroupArn, t.id, t.port), t);
  return sortedByKey(out.values());
}

/**
 * Records noted ahead of their calls (RegisterTargets), with the addresses they are on: what a
 * note adds to the state, cheaper to make durable than the whole state (one appended line).
 */
export interface StateNote {
  readonly targets: readonly OwnedTarget[];
  readonly addresses: readonly string[];
}

/** The state with notes taken in, in order: their records merged, their addresses added. */
export function withNotes(state: AgentState, notes: readonly StateNote[]): AgentState {
  if (notes.length === 0) return state;
  const addresses = [...state.addresses];
  for (const n of notes) for (const a of n.addresses) if (!addresses.includes(a)) addresses.push(a);
  return { ...state, addresses, targets: mergeTargets(state.targets, notes.flatMap((n) => n.targets)) };
}

/**
 * A saved state that could not be used (cut short, garbage, a wrong version, unreadable):
 * kept aside for a person, never fatal. The agent starts from what it can still prove is its
 * own: everything on its current address; of the records still readable, those on it.
 */
export interface StateRecovery {
  /** What was wrong with it, e.g. "is cut short (812 bytes, ...)". */
  readonly problem: string;
  /** Where the file was moved; undefined when it was left in place (a read-only command, or the move failed: `moveProblem`). */
  readonly movedTo?: string;
  readonly moveProblem?: string;
  /** The complete target records that could still be read from it. */
  readonly salvaged: readonly OwnedTarget[];
}

/** Loads and durably saves the state (state/state-store.ts on disk; in memory for dry runs and simulations). */
export interface StatePort {
  /** Where the state lives, for messages. */
  readonly path: string;
  /** The saved state. A file that cannot be used gives the empty state and sets `recovery`; only a passing condition (no file descriptors left) throws. */
  load(): Promise<AgentState>;
  /** Replaces the saved state durably; throws when it cannot (a full disk, a read-only directory). */
  save(state: AgentState): Promise<void>;
  /**
   * Makes a note durable: after it resolves, a `load` gives the last saved state with this and
   * every earlier note since taken in. Throws like `save`. Optional: without it, the whole
   * state is saved instead.
   */
  note?(note: StateNote): Promise<void>;
  /** Set by `load` when the saved state could not be used. */
  readonly recovery?: StateRecovery;
  /** Set by `load` when something on disk was passed over and the state is usable still (a note cut short): said once, as a warning. */
  readonly notice?: string;
}
