/**
 * The zone a group that refuses `AvailabilityZone: all` (cross-zone load balancing off) takes
 * this host's targets in: one of its load balancers' zones, the same on every run (a hash of the
 * host id), remembered in the state. The target writer asks it when a RegisterTargets comes back
 * as a zone refusal; the plan reads the remembered zones.
 */
import { shortTargetGroup } from '../core/arn.ts';
import type { AgentState } from '../core/state.ts';
import type { TargetRegistry } from '../core/target-registry.ts';
import type { Log } from '../log.ts';
import { zoneForHost, zonesForTargets } from './policy.ts';
import type { StateKeeper } from './state-keeper.ts';

/** The zones remembered for groups that refused `all`, as read from the state (anything malformed is ignored). */
export function rememberedZonesRecord(state: AgentState): Record<string, string> {
  const zones = state.groupZones;
  if (typeof zones !== 'object' || zones === null) return {};
  return Object.fromEntries(Object.entries(zones).filter(([, z]) => typeof z === 'string' && z !== 'all'));
}

/** The remembered zones by group ARN. */
export const rememberedZones = (state: AgentState): Map<string, string> => new Map(Object.entries(rememberedZonesRecord(state)));

export interface ZoneChooserOptions {
  readonly registry: TargetRegistry;
  readonly keeper: StateKeeper;
  readonly log: Log;
  /** Identifies this host across restarts (/etc/machine-id). */
  readonly hostId?: string;
}

/** Picks and remembers a real zone for a group that refused `all`. */
export class ZoneChooser {
  constructor(private readonly options: ZoneChooserOptions) {}

  /**
   * Picks this host's zone among the group's load balancers' zones and remembers it; false when
   * none can be found (the refusal then counts as the group's failure, and the log line says to
   * set --availability-zone).
   */
  async chooseFor(arn: string): Promise<boolean> {
    const { registry, keeper, log } = this.options;
    const tg = shortTargetGroup(arn);
    try {
      const info = await registry.describeGroup(arn);
      const lbs = info.loadBalancerArns !== undefined && info.loadBalancerArns.length > 0 ? ((await registry.loadBalancerZones?.(info.loadBalancerArns)) ?? []) : [];
      const zones = zonesForTargets(lbs);
      const zone = zoneForHost(zones, this.options.hostId ?? '');
      if (zone === undefined) {
        log.error(`${tg} refuses AvailabilityZone=all (cross-zone load balancing is off) and no load balancer of it names a zone: set --availability-zone to a zone of its VPC`, { event: 'zone-unknown', targetGroupArn: arn });
        return false;
      }
      await keeper.update({ ...keeper.current, groupZones: { ...rememberedZonesRecord(keeper.current), [arn]: zone } });
      log.info(`${tg} refuses AvailabilityZone=all (cross-zone load balancing is off): registering this host in ${zone}, its zone among the load balancers' ${zones.join(', ')}`, {
        event: 'zone-chosen', targetGroupArn: arn, availabilityZone: zone, zones,
      });
      return true;
    } catch (err) {
      log.warn(`${tg} refuses AvailabilityZone=all and its load balancers' zones cannot be read (${err instanceof Error ? err.message : String(err)}): the instance role needs elasticloadbalancing:DescribeTargetGroups and DescribeLoadBalancers, or set --availability-zone`, {
        event: 'zone-unknown', targetGroupArn: arn,
      });
      return false;
    }
  }
}
