/**
 * The ELBv2 actions this endpoint implements: each reads its query parameters, calls the
 * model and renders the `<{Action}Result>` contents. The protocol envelope (success and
 * error documents, status codes) is the HTTP layer's job.
 */
import { ElbError } from './elb-error.ts';
import type { Elbv2Model, TargetGroupView, TargetHealthView, TargetInput } from './elbv2-model.ts';
import { ParamReader } from './query-params.ts';
import type { QueryParams } from './query-params.ts';
import { describeLoadBalancers } from './load-balancers.ts';
import { HEALTH_CHECK_PROTOCOLS, INTEGER_RANGES, PROTOCOLS, TARGET_TYPES } from './target-group-settings.ts';
import { element, leaf, memberList } from './xml.ts';
import type { XmlElement } from './xml.ts';

/** The API version every request must name. */
export const ELBV2_API_VERSION = '2015-12-01';

/** Reads parameters, acts on the model, returns the children of the `<{Action}Result>` element. */
export type ActionHandler = (reader: ParamReader, model: Elbv2Model) => XmlElement[];

const ACTIONS: ReadonlyMap<string, ActionHandler> = new Map<string, ActionHandler>([
  ['CreateTargetGroup', createTargetGroup],
  ['DescribeTargetGroups', describeTargetGroups],
  ['DescribeTargetGroupAttributes', describeTargetGroupAttributes],
  ['ModifyTargetGroupAttributes', modifyTargetGroupAttributes],
  ['RegisterTargets', registerTargets],
  ['DeregisterTargets', deregisterTargets],
  ['DescribeTargetHealth', describeTargetHealth],
  ['DescribeLoadBalancers', (reader, model) => describeLoadBalancers(reader, model.loadBalancers)],
]);

/** Names of the implemented actions. */
export const IMPLEMENTED_ACTIONS: readonly string[] = [...ACTIONS.keys()];

/**
 * Runs one request's action. Throws ElbError for anything AWS would refuse: missing or
 * unknown Action or Version, bad parameters, and every model rule.
 */
export function runAction(params: QueryParams, model: Elbv2Model): { action: string; result: XmlElement[] } {
  const action = params.get('Action');
  if (action === undefined || action === '') throw new ElbError('MissingAction', 'The request must contain the parameter Action');
  const version = params.get('Version');
  if (version === undefined) throw new ElbError('MissingParameter', 'The request must contain the parameter Version');
  const handler = ACTIONS.get(action);
  if (!handler || version !== ELBV2_API_VERSION) {
    throw new ElbError('InvalidAction', `Could not find operation ${action} for version ${version}`);
  }
  return { action, result: handler(new ParamReader(params), model) };
}

function createTargetGroup(reader: ParamReader, model: Elbv2Model): XmlElement[] {
  const int = (key: string, field: keyof typeof INTEGER_RANGES): number | undefined => {
    const [min, max] = INTEGER_RANGES[field];
    return reader.integer(key, field, { min, max });
  };
  const name = reader.string('Name', 'name', { required: true });
  const protocol = reader.string('Protocol', 'protocol', { enum: PROTOCOLS });
  const protocolVersion = reader.string('ProtocolVersion', 'protocolVersion');
  const port = int('Port', 'port');
  const vpcId = reader.string('VpcId', 'vpcId');
  const targetType = reader.string('TargetType', 'targetType', { enum: TARGET_TYPES });
  const healthCheckProtocol = reader.string('HealthCheckProtocol', 'healthCheckProtocol', { enum: HEALTH_CHECK_PROTOCOLS });
  const healthCheckPort = reader.string('HealthCheckPort', 'healthCheckPort');
  const healthCheckEnabled = reader.string('HealthCheckEnabled', 'healthCheckEnabled', { enum: ['true', 'false'] });
  const healthCheckPath = reader.string('HealthCheckPath', 'healthCheckPath', { maxLength: 1024 });
  const healthCheckIntervalSeconds = int('HealthCheckIntervalSeconds', 'healthCheckIntervalSeconds');
  const healthCheckTimeoutSeconds = int('HealthCheckTimeoutSeconds', 'healthCheckTimeoutSeconds');
  const healthyThresholdCount = int('HealthyThresholdCount', 'healthyThresholdCount');
  const unhealthyThresholdCount = int('UnhealthyThresholdCount', 'unhealthyThresholdCount');
  const matcherHttpCode = reader.string('Matcher.HttpCode', 'matcher.httpCode');
  const ipAddressType = reader.string('IpAddressType', 'ipAddressType', { enum: ['ipv4', 'ipv6'] });
  reader.check();
  if (ipAddressType === 'ipv6') throw new ElbError('ValidationError', "This local ELBv2 endpoint supports only the 'ipv4' IP address type");
  const group = model.createTargetGroup({
    name,
    protocol,
    protocolVersion,
    port,
    vpcId,
    targetType,
    healthCheckProtocol,
    healthCheckPort,
    healthCheckEnabled: healthCheckEnabled === undefined ? undefined : healthCheckEnabled === 'true',
    healthCheckPath,
    healthCheckIntervalSeconds,
    healthCheckTimeoutSeconds,
    healthyThresholdCount,
    unhealthyThresholdCount,
    matcherHttpCode,
  });
  return [memberList('TargetGroups', [group], targetGroupXml)];
}

function describeTargetGroups(reader: ParamReader, model: Elbv2Model): XmlElement[] {
  const loadBalancerArn = reader.string('LoadBalancerArn', 'loadBalancerArn');
  const arns = reader.stringList('TargetGroupArns', 'targetGroupArns');
  const names = reader.stringList('Names', 'names');
  const marker = reader.string('Marker', 'marker');
  const pageSize = reader.integer('PageSize', 'pageSize', { min: 1, max: 400 });
  reader.check();
  if (loadBalancerArn !== undefined) throw new ElbError('LoadBalancerNotFound', 'One or more load balancers not found');
  const page = model.describeTargetGroups({
    ...(arns ? { arns } : {}),
    ...(names ? { names } : {}),
    ...(pageSize !== undefined ? { pageSize } : {}),
    ...(marker !== undefined ? { marker } : {}),
  });
  return [memberList('TargetGroups', page.groups, (g) => targetGroupXml(g, model.loadBalancers.arnsFor(g.arn))), leaf('NextMarker', page.nextMarker)].filter(isElement);
}

function describeTargetGroupAttributes(reader: ParamReader, model: Elbv2Model): XmlElement[] {
  const arn = reader.string('TargetGroupArn', 'targetGroupArn', { required: true }) ?? '';
  reader.check();
  return [attributesXml(model.describeAttributes(arn))];
}

function modifyTargetGroupAttributes(reader: ParamReader, model: Elbv2Model): XmlElement[] {
  const arn = reader.string('TargetGroupArn', 'targetGroupArn', { required: true }) ?? '';
  const members = reader.structList('Attributes', 'attributes', { required: true }) ?? [];
  const changes = members.map(({ index, fields }): [string, string] => {
    if (fields['Key'] === undefined) {
      reader.violate(`Value null at 'attributes.${index}.member.key' failed to satisfy constraint: Member must not be null`);
    }
    return [fields['Key'] ?? '', fields['Value'] ?? ''];
  });
  reader.check();
  return [attributesXml(model.modifyAttributes(arn, changes))];
}

function registerTargets(reader: ParamReader, model: Elbv2Model): XmlElement[] {
  const arn = reader.string('TargetGroupArn', 'targetGroupArn', { required: true }) ?? '';
  const targets = readTargets(reader, true) ?? [];
  reader.check();
  model.registerTargets(arn, targets);
  return [];
}

function deregisterTargets(reader: ParamReader, model: Elbv2Model): XmlElement[] {
  const arn = reader.string('TargetGroupArn', 'targetGroupArn', { required: true }) ?? '';
  const targets = readTargets(reader, true) ?? [];
  reader.check();
  model.deregisterTargets(arn, targets);
  return [];
}

function describeTargetHealth(reader: ParamReader, model: Elbv2Model): XmlElement[] {
  const arn = reader.string('TargetGroupArn', 'targetGroupArn', { required: true }) ?? '';
  const targets = readTargets(reader, false);
  reader.check();
  return [memberList('TargetHealthDescriptions', model.describeTargetHealth(arn, targets), targetHealthXml)];
}

/** Reads `Targets.member.N.{Id,Port,AvailabilityZone}`. */
function readTargets(reader: ParamReader, required: boolean): TargetInput[] | undefined {
  const members = reader.structList('Targets', 'targets', { required });
  return members?.map(({ index, fields }) => {
    const id = reader.string(`Targets.member.${index}.Id`, `targets.${index}.member.id`, { required: true }) ?? '';
    const port = reader.integerValue(fields['Port'], `targets.${index}.member.port`, { min: 1, max: 65535 });
    const availabilityZone = fields['AvailabilityZone'];
    return { id, ...(port !== undefined ? { port } : {}), ...(availabilityZone !== undefined ? { availabilityZone } : {}) };
  });
}

function targetGroupXml(group: TargetGroupView, loadBalancerArns: readonly string[] = []): XmlElement {
  const hc = group.healthCheck;
  return element(
    'member',
    leaf('TargetGroupArn', group.arn),
    leaf('TargetGroupName', group.name),
    leaf('Protocol', group.protocol),
    leaf('Port', group.port),
    leaf('VpcId', group.vpcId),
    leaf('HealthCheckProtocol', hc.protocol),
    leaf('HealthCheckPort', hc.port),
    leaf('HealthCheckEnabled', hc.enabled),
    leaf('HealthCheckIntervalSeconds', hc.intervalSeconds),
    leaf('HealthCheckTimeoutSeconds', hc.timeoutSeconds),
    leaf('HealthyThresholdCount', hc.healthyThreshold),
    leaf('UnhealthyThresholdCount', hc.unhealthyThreshold),
    leaf('HealthCheckPath', hc.path),
    hc.matcher === undefined ? undefined : element('Matcher', leaf('HttpCode', hc.matcher)),
    memberList('LoadBalancerArns', loadBalancerArns, (arn) => leaf('member', arn) as XmlElement),
    leaf('TargetType', group.targetType),
    leaf('ProtocolVersion', group.protocolVersion),
    leaf('IpAddressType', 'ipv4'),
  );
}

function targetHealthXml(view: TargetHealthView): XmlElement {
  return element(
    'member',
    element('Target', leaf('Id', view.id), leaf('Port', view.port), leaf('AvailabilityZone', view.availabilityZone)),
    leaf('HealthCheckPort', view.healthCheckPort),
    element('TargetHealth', leaf('State', view.health.state), leaf('Reason', view.health.reason), leaf('Description', view.health.description)),
  );
}

function attributesXml(attributes: ReadonlyArray<readonly [string, string]>): XmlElement {
  return memberList('Attributes', attributes, ([key, value]) => element('member', leaf('Key', key), leaf('Value', value)));
}

function isElement(value: XmlElement | undefined): value is XmlElement {
  return value !== undefined;
}
