/**
 * What this host registered and which addresses it used: the records that make ownership
 * provable after a restart, a crash or a changed address, and the port they are kept through.
 */

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
  /** Set by `load` when the saved state could not be used. */
  readonly recovery?: StateRecovery;
}
