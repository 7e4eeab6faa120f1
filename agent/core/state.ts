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
}

export const EMPTY_STATE: AgentState = { version: STATE_VERSION, addresses: [], targets: [] };

/** Loads and durably saves the state (state/state-store.ts on disk; in memory for dry runs and simulations). */
export interface StatePort {
  /** Where the state lives, for messages. */
  readonly path: string;
  load(): Promise<AgentState>;
  save(state: AgentState): Promise<void>;
}
