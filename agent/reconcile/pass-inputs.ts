/**
 * What a pass starts from, given the state and the address: the containers (the container
 * source's view), the tasks' metadata (service tags), what should be (mapping/desired.ts), the
 * state's record of the address and VPN interface, the groups siblings about to start are for,
 * the records a damaged state still proves, and the log lines that say so once (the address in
 * use, containers skipped for their labels).
 */
import type { AddressChoice } from '../core/address.ts';
import { shortTargetGroup } from '../core/arn.ts';
import { ECS_TASK_ARN_LABEL, type ContainerSnapshot, type ContainerSource } from '../core/container.ts';
import type { PortRange } from '../core/port-range.ts';
import type { AgentState, StatePort } from '../core/state.ts';
import type { TaskMetadata, TaskMetadataSource } from '../core/task-metadata.ts';
import type { Log } from '../log.ts';
import { computeDesired, labelledGroups, tasksToAsk, type DesiredResult } from '../mapping/desired.ts';
import type { MappingRule } from '../mapping/mapping-file.ts';
import type { Tracer } from '../trace.ts';
import { provableRecords } from './owned-targets.ts';
import type { StateKeeper } from './state-keeper.ts';

/** What the task metadata endpoint tells about the tasks whose tags can matter (once per task: the source keeps it). */
export async function tasksOf(source: TaskMetadataSource | undefined, containers: readonly ContainerSnapshot[], includeNonEcs: boolean): Promise<Map<string, TaskMetadata>> {
  const out = new Map<string, TaskMetadata>();
  if (!source) return out;
  source.retain(new Set(containers.flatMap((c) => (c.labels[ECS_TASK_ARN_LABEL] !== undefined ? [c.labels[ECS_TASK_ARN_LABEL]] : []))));
  await Promise.all(
    [...tasksToAsk(containers, includeNonEcs)].map(async ([taskArn, id]) => {
      const task = await source.task(taskArn, id);
      if (task) out.set(taskArn, task);
    }),
  );
  return out;
}

/** What the state records as this host's VPN interface after this choice: set by a VPN address in auto mode, cleared by --host-ip or --interface. */
export function vpnInterfaceAfter(recorded: unknown, choice: AddressChoice): string | undefined {
  if (choice.vpn === true && choice.interface !== undefined) return choice.interface;
  if (choice.vpn === undefined && choice.address !== undefined) return undefined;
  return typeof recorded === 'string' ? recorded : undefined;
}

/** The state with this pass's address owned (before anything is registered on it) and its VPN interface; undefined when nothing changes. */
export function stateOwningAddress(state: AgentState, choice: AddressChoice): AgentState | undefined {
  const address = choice.address;
  const vpnInterface = vpnInterfaceAfter(state.vpnInterface, choice);
  const newAddress = address !== undefined && !state.addresses.includes(address);
  if (!newAddress && vpnInterface === state.vpnInterface) return undefined;
  const { vpnInterface: _old, ...rest } = state;
  return { ...rest, addresses: newAddress ? [...state.addresses, address] : state.addresses, ...(vpnInterface !== undefined ? { vpnInterface } : {}) };
}

/**
 * After a saved state that could not be used: keeps the records still readable from it that are
 * on the current address (ours anyway; they name the groups and containers), drops the rest, and
 * says so once, as an error naming what was lost.
 */
export function adoptRecovery(store: StatePort, keeper: StateKeeper, log: Log, address: string | undefined): void {
  if (store.notice !== undefined) log.warn(store.notice, { event: 'state-notice' });
  const r = store.recovery;
  if (r === undefined) return;
  const kept = provableRecords(r.salvaged, address);
  const lost = r.salvaged.filter((t) => !kept.includes(t));
  keeper.adopt(kept);
  const where = r.movedTo !== undefined ? `moved to ${r.movedTo}` : `left in place${r.moveProblem !== undefined ? ` (cannot move it aside: ${r.moveProblem})` : ''}`;
  const owned = address !== undefined ? `every target on its current address ${address}` : 'nothing until it has an address';
  const read = r.salvaged.length === 0 ? 'no target record could be read from it' : `${r.salvaged.length} target record(s) could be read from it: ${kept.length} on the current address kept`;
  const lostText = lost.length === 0 ? '' : `, ${lost.length} on other addresses no longer owned (${lost.slice(0, 10).map((t) => `${shortTargetGroup(t.targetGroupArn)} ${t.id}:${t.port}`).join(', ')}${lost.length > 10 ? ', ...' : ''}): deregister those by hand if they are this host's`;
  log.error(`${r.problem}: ${where}; starting over with what this host can prove is its own, ${owned}; ${read}${lostText}`, {
    event: 'state-recovered', problem: r.problem, ...(r.movedTo !== undefined ? { movedTo: r.movedTo } : {}), salvaged: r.salvaged.length, kept: kept.length, lost: lost.length,
  });
}

export interface PassInputsOptions {
  readonly containers: ContainerSource;
  readonly log: Log;
  readonly tracer: Tracer;
  readonly taskMetadata?: TaskMetadataSource;
  readonly includeNonEcs: boolean;
  /** Undefined: any group. */
  readonly allowedTargetGroups?: readonly string[];
  readonly hostPortRange?: PortRange;
}

/** What the pass hands over: the address chosen, the state planned from, the rules in force, whether to list afresh. */
export interface GatherInput {
  readonly choice: AddressChoice;
  readonly state: AgentState;
  readonly rules: readonly MappingRule[];
  readonly fresh: boolean;
}

/** What a pass starts from. */
export interface PassStart {
  readonly containers: readonly ContainerSnapshot[];
  readonly desired: DesiredResult;
  /** The state with this pass's address owned, when that changes it (stateOwningAddress). */
  readonly owning?: AgentState;
  /** The groups containers about to start are labelled for (start-gathering.ts). */
  readonly pendingGroups: ReadonlySet<string>;
}

/** Gathers and derives a pass's inputs, and says what they call for once (the address in use, containers skipped). */
export class PassInputs {
  private reportedProblems = new Set<string>();
  private lastAddress: string | undefined;

  constructor(private readonly options: PassInputsOptions) {}

  /**
   * What should be, in one step: the containers and the siblings about to start (read together:
   * this pass waits for no sibling created after its listing), their tasks' tags, the desired
   * endpoints at this address, and the state owning the address. Throws when the containers
   * can't be listed.
   */
  async gather(g: GatherInput): Promise<PassStart> {
    const o = this.options;
    this.address(g.choice);
    const containers = await o.containers.list({ fresh: g.fresh });
    const pendingStarts = o.containers.activity?.().pendingStarts ?? [];
    o.tracer.step('listed');
    const address = g.choice.address;
    const desired = computeDesired({
      containers, tasks: await tasksOf(o.taskMetadata, containers, o.includeNonEcs), rules: g.rules, includeNonEcs: o.includeNonEcs,
      ...(o.allowedTargetGroups ? { allowedTargetGroups: new Set(o.allowedTargetGroups) } : {}), ...(address !== undefined ? { hostAddress: address } : {}),
      ...(o.hostPortRange ? { hostPortRange: o.hostPortRange } : {}),
    });
    this.problems(desired.problems);
    const owning = stateOwningAddress(g.state, g.choice);
    const pendingGroups = new Set(pendingStarts.flatMap((p) => [...labelledGroups(p.labels, g.rules)]));
    return { containers, desired, pendingGroups, ...(owning ? { owning } : {}) };
  }

  /** Containers skipped for their labels or mapping: each problem warned about once while it lasts. */
  private problems(problems: readonly { containerId: string; containerName: string; source: string; message: string }[]): void {
    const current = new Set<string>();
    for (const p of problems) {
      const k = `${p.containerId}|${p.source}|${p.message}`;
      current.add(k);
      if (this.reportedProblems.has(k)) continue;
      this.options.log.warn(`skipping ${p.containerName} ${p.source}: ${p.message}`, {
        event: 'skipped', container: p.containerName, containerId: p.containerId.slice(0, 12), label: p.source, problem: p.message,
      });
    }
    this.reportedProblems = current;
  }

  /** The address in use, or why there is none: said when it changes. */
  private address(choice: AddressChoice): void {
    const { address, interface: iface, problem } = choice;
    const line = address !== undefined ? `address ${address}${iface ? ` on ${iface}` : ''}` : `no usable address: ${problem ?? 'unknown'}`;
    if (line === this.lastAddress) return;
    const first = this.lastAddress === undefined;
    this.lastAddress = line;
    if (address !== undefined) this.options.log.info(first ? `using ${line}` : `host address changed: using ${line}`, { event: 'address', address, ...(iface ? { interface: iface } : {}) });
    else this.options.log.warn(`${line}; registering nothing until one appears`, { event: 'address', problem });
  }
}
