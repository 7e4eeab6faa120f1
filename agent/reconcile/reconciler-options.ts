/** What the reconciler is built from (ReconcilerOptions, FleetOptions) and what a pass gives back (PassResult). */
import type { AddressSource } from '../core/address.ts';
import type { ContainerSource } from '../core/container.ts';
import type { Cidr } from '../core/ipv4.ts';
import type { StatePort } from '../core/state.ts';
import type { TargetRegistry } from '../core/target-registry.ts';
import type { TaskMetadataSource } from '../core/task-metadata.ts';
import type { ApiLimits } from '../fleet/api-budget.ts';
import type { ApiPace } from '../fleet/api-pace.ts';
import type { Log } from '../log.ts';
import type { MappingRule } from '../mapping/mapping-file.ts';
import type { Tracer } from '../trace.ts';
import type { HeldChange } from './held-change.ts';

/** The fleet this host is part of, which sizes its reads. */
export interface FleetOptions {
  readonly fleetSize: number;
  readonly limits: ApiLimits;
  /** Reads are never more frequent than this (--reconcile-interval). */
  readonly minReadIntervalMs: number;
}

export interface ReconcilerOptions {
  readonly containers: ContainerSource;
  /** Every call goes through this host's pace (fleet/paced-registry.ts). */
  readonly registry: TargetRegistry;
  readonly pace: ApiPace;
  readonly fleet: FleetOptions;
  readonly addresses: AddressSource;
  readonly store: StatePort;
  readonly log: Log;
  /** The mapping file's rules: fixed, or those in force now (a file reloaded when it changes). */
  readonly rules: readonly MappingRule[] | { current(): readonly MappingRule[] };
  /** Undefined: any group (--allow-any-target-group). */
  readonly allowedTargetGroups?: readonly string[];
  readonly includeNonEcs: boolean;
  /** Tasks' service tags (ecs-a.lbName, ecs-anywhere-lb.*); none: labels and the mapping file only. */
  readonly taskMetadata?: TaskMetadataSource;
  readonly vpcCidrs: readonly Cidr[];
  readonly availabilityZone: string;
  /** Identifies this host across restarts (/etc/machine-id): picks its zone in groups that refuse `all`. */
  readonly hostId?: string;
  /** Per-group retry backoff after transient errors. */
  readonly retry: { baseMs: number; capMs: number };
  /** How long a group that can't be read for a permanent reason (TargetGroupNotFound, AccessDenied) is left alone; the reconcile interval. */
  readonly permanentRetryMs: number;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly tracer?: Tracer;
  /** A read showed that a target this host deregistered has left its group: how long after the DeregisterTargets call. */
  readonly onDrained?: (targetGroupArn: string, ms: number) => void;
  /** Each attempt to write the state, and whether it worked (a full disk, a read-only directory). */
  readonly onStateWrite?: (ok: boolean) => void;
}

/** What one pass did. */
export interface PassResult {
  readonly registered: number;
  readonly deregistered: number;
  readonly failed: number;
  readonly ownedTargets: number;
  readonly address?: string;
  /** Groups whose changes wait for a backoff, the pace or siblings about to start: the pass is not complete. */
  readonly deferred?: number;
  /** Registrations not sent because their records could not be written first (a full disk): sent once the state can be written. */
  readonly heldForState?: number;
  /** The changes the policies hold for now: which, why, until when. */
  readonly held?: readonly HeldChange[];
  /** Every change went through and no group is backing off. */
  readonly settled: boolean;
  /** Run again after this many ms: a backoff ends, the pace allows a deferred change, a held change is due, or a read is due. */
  readonly nextPassInMs?: number;
  /** How often each group is re-read now. */
  readonly driftRepairIntervalMs?: number;
  /** Resolves once the pass's own state write (after its calls, not waited for) has ended: with when to try it again when it failed. */
  readonly written?: Promise<number | undefined>;
}
