/**
 * Load balancers, as far as target registration sees them: which zones each is enabled in,
 * which target groups it forwards to, and whether it balances across zones. What AWS says:
 * - DescribeLoadBalancers returns each load balancer's `AvailabilityZones` (ZoneName,
 *   SubnetId); DescribeTargetGroups lists the `LoadBalancerArns` a group is attached to
 *   (Elastic Load Balancing API Reference, LoadBalancer and TargetGroup data types).
 * - Cross-zone load balancing: an Application Load Balancer always has it on at the load
 *   balancer level, a target group can turn it off (`load_balancing.cross_zone.enabled=false`);
 *   a Network Load Balancer has it off by default at the load balancer level, and its groups
 *   follow it unless they override it (`use_load_balancer_configuration`, the default)
 *   ("Cross-zone load balancing for target groups", ALB and NLB user guides).
 * - With it off, an IP target outside the VPC needs "an Availability Zone inside the VPC for
 *   the target group" instead of `all` (API Reference, TargetDescription.AvailabilityZone).
 *   The refusal is a ValidationError whose message says "you must specify an Availability
 *   Zone": the AWS Load Balancer Controller matches exactly that
 *   (pkg/targetgroupbinding/resource_manager.go, isAZValidationError).
 */
import { randomBytes } from 'node:crypto';
import { ElbError, validationError } from './elb-error.ts';
import type { ParamReader } from './query-params.ts';
import { element, leaf, memberList, type XmlElement } from './xml.ts';

/** A load balancer of the stand-in. */
export interface LoadBalancerSpec {
  readonly name: string;
  /** Zones it is enabled in, e.g. ['us-east-1a', 'us-east-1b']. */
  readonly zones: readonly string[];
  readonly targetGroupArns: readonly string[];
  /** Default application. */
  readonly type?: 'application' | 'network';
  /** Load-balancer-level cross-zone load balancing: always on for application; off by default for network. */
  readonly crossZone?: boolean;
}

interface LoadBalancerRecord extends LoadBalancerSpec {
  readonly arn: string;
}

/** The load balancers a model knows. */
export class LoadBalancerRegistry {
  private readonly byArn = new Map<string, LoadBalancerRecord>();

  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  /** Creates one; returns its ARN. */
  create(spec: LoadBalancerSpec): string {
    const kind = spec.type === 'network' ? 'net' : 'app';
    const arn = `arn:aws:elasticloadbalancing:${this.region}:${this.accountId}:loadbalancer/${kind}/${spec.name}/${randomBytes(8).toString('hex')}`;
    for (const zone of spec.zones) if (!zone.startsWith(this.region)) throw new Error(`local-elbv2: ${zone} is not a zone of ${this.region}`);
    this.byArn.set(arn, { ...spec, arn });
    return arn;
  }

  /** The load balancers that forward to a group. */
  arnsFor(targetGroupArn: string): string[] {
    return [...this.byArn.values()].filter((lb) => lb.targetGroupArns.includes(targetGroupArn)).map((lb) => lb.arn);
  }

  /**
   * Whether a group balances across zones: its own attribute when it says true or false, else
   * every load balancer it is attached to (an application load balancer always does).
   */
  crossZoneOn(targetGroupArn: string, groupAttribute: string | undefined): boolean {
    if (groupAttribute === 'true') return true;
    if (groupAttribute === 'false') return false;
    return [...this.byArn.values()].filter((lb) => lb.targetGroupArns.includes(targetGroupArn)).every((lb) => lb.type !== 'network' || lb.crossZone === true);
  }

  /** DescribeLoadBalancers: by ARN or name, or all. */
  describe(arns: readonly string[] | undefined, names: readonly string[] | undefined): LoadBalancerRecord[] {
    const all = [...this.byArn.values()];
    if (arns) {
      const found = arns.map((a) => this.byArn.get(a));
      if (found.some((lb) => lb === undefined)) throw new ElbError('LoadBalancerNotFound', 'One or more load balancers not found');
      return found as LoadBalancerRecord[];
    }
    if (names) {
      const found = names.map((n) => all.find((lb) => lb.name === n));
      if (found.some((lb) => lb === undefined)) throw new ElbError('LoadBalancerNotFound', 'One or more load balancers not found');
      return found as LoadBalancerRecord[];
    }
    return all;
  }
}

/** The refusal of `AvailabilityZone: all` for an off-VPC IP target while cross-zone load balancing is off. */
export function crossZoneOffRefusal(targetId: string): ElbError {
  return validationError(
    `Availability Zone 'all' is not valid for IP address '${targetId}', which is outside the VPC: cross-zone load balancing is off for the target group, so you must specify an Availability Zone inside the VPC for the target group`,
  );
}

/** The DescribeLoadBalancers action. */
export function describeLoadBalancers(reader: ParamReader, registry: LoadBalancerRegistry): XmlElement[] {
  const arns = reader.stringList('LoadBalancerArns', 'loadBalancerArns');
  const names = reader.stringList('Names', 'names');
  reader.check();
  return [memberList('LoadBalancers', registry.describe(arns, names), loadBalancerXml)];
}

function loadBalancerXml(lb: LoadBalancerRecord): XmlElement {
  return element(
    'member',
    leaf('LoadBalancerArn', lb.arn),
    leaf('LoadBalancerName', lb.name),
    leaf('Scheme', 'internal'),
    element('State', leaf('Code', 'active')),
    leaf('Type', lb.type ?? 'application'),
    memberList('AvailabilityZones', lb.zones, (zone) => element('member', leaf('ZoneName', zone), leaf('SubnetId', `subnet-${zone.slice(-1).repeat(17)}`))),
    leaf('IpAddressType', 'ipv4'),
  );
}
