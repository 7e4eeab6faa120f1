/**
 * The IAM policy the instance role needs, built from the same allowed target groups the agent
 * runs with: RegisterTargets and DeregisterTargets on those groups only, and the Describe
 * calls (which support no resource-level permissions) on "*". The one template of it: the
 * installer, the packages and the README print what `ecs-anywhere-lb-agent iam-policy` prints.
 * No ARN of it names any account but the one given: a group list names its accounts, and the
 * forms that cover many groups (--allow-any-target-group, --tag-scoped) need --account.
 *
 * What each permission is for, and what happens without it:
 * - DescribeLoadBalancers: the zones of a group that refuses AvailabilityZone=all (cross-zone
 *   load balancing off). Without it that group is left alone, with a warning naming the
 *   permission, until --availability-zone names a zone.
 * - ecs:ListTagsForResource (only with --read-service-tags): a service's own tags when its tasks
 *   carry none (no propagateTags: SERVICE). Without it one warning per service, and its tasks
 *   are mapped by labels and the mapping file only.
 * - ecs:PutAttributes on the cluster's container instances: the ecs-anywhere-lb.address attribute
 *   `fleet status` and `fleet clean` read (ecs/address-attribute.ts). Without it a warning, retried
 *   slowly; registrations go on.
 *
 * `iam-policy --fleet-clean` prints instead the policy of whoever runs `fleet clean` (a role of
 * one host, or an operator's): ECS reads of the cluster, DescribeTargetHealth, and
 * DeregisterTargets on the allowed groups only (fleetCleanPolicy).
 */
import { ConfigError } from './errors.ts';

/** An AWS region name such as eu-west-1, us-gov-west-1 or cn-north-1. */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-[0-9]+$/;
/** An AWS account id: twelve digits. */
export const AWS_ACCOUNT_PATTERN = /^[0-9]{12}$/;
/** A tag key or value as IAM conditions take them (letters, digits, spaces and + - = . _ : / @). */
const TAG_TEXT = /^[\p{L}\p{N} +\-=._:/@]{1,256}$/u;

/** --tag-scoped KEY=VALUE: the groups that carry this tag. */
export interface TagScope {
  readonly key: string;
  readonly value: string;
}

/** What the policy is for. */
export interface PolicyScope {
  readonly allowedTargetGroups: readonly string[];
  readonly allowAnyTargetGroup: boolean;
  /** Needed with allowAnyTargetGroup and no list, and with tagScope: the region whose groups the policy then covers. */
  readonly region?: string;
  /** Needed wherever region is: the account whose groups the policy covers (never "*"). */
  readonly account?: string;
  /** --tag-scoped KEY=VALUE: Register/Deregister on every group of the region and account that carries the tag. */
  readonly tagScope?: TagScope;
  /** --read-service-tags: the agent reads services' own tags (ecs:ListTagsForResource). */
  readonly readServiceTags?: boolean;
  /** --cluster: the ECS cluster (name or ARN) whose container instances the policy covers; absent: every cluster of the groups' accounts and regions. */
  readonly cluster?: string;
}

/** The partition of a region, for ARNs that cover a whole region. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/** Reads --tag-scoped's KEY=VALUE; throws a ConfigError naming the flag. */
export function parseTagScope(text: string): TagScope {
  const eq = text.indexOf('=');
  const key = eq > 0 ? text.slice(0, eq) : '';
  const value = eq > 0 ? text.slice(eq + 1) : '';
  if (!TAG_TEXT.test(key) || !TAG_TEXT.test(value) || key.startsWith('aws:')) {
    throw new ConfigError('--tag-scoped', `"${text}" is not KEY=VALUE with a tag key and value (letters, digits, spaces and + - = . _ : / @; no aws: prefix)`);
  }
  return { key, value };
}

/** Every target group of the scope's region and account; throws a ConfigError naming what is missing and why it is needed. */
function regionGroups(scope: PolicyScope, why: string): string {
  if (scope.region === undefined || scope.region === '') throw new ConfigError('--region (AWS_REGION)', `required ${why}`);
  if (!AWS_REGION_PATTERN.test(scope.region)) throw new ConfigError('--region (AWS_REGION)', `"${scope.region}" is not an AWS region such as eu-west-1`);
  if (scope.account === undefined || scope.account === '') throw new ConfigError('--account (AWS_ACCOUNT_ID)', `required ${why}: the policy names no other account's groups`);
  if (!AWS_ACCOUNT_PATTERN.test(scope.account)) throw new ConfigError('--account (AWS_ACCOUNT_ID)', `"${scope.account}" is not an AWS account id (12 digits)`);
  return `arn:${partitionOf(scope.region)}:elasticloadbalancing:${scope.region}:${scope.account}:targetgroup/*`;
}

/**
 * The resources RegisterTargets and DeregisterTargets are granted on without a condition: the
 * allowed groups, or (with --allow-any-target-group and no list, as the agent then joins any
 * group) every target group of one region and account. None with --tag-scoped alone: the
 * tag's statement grants those. Throws a ConfigError naming what is missing.
 */
export function policyResources(scope: PolicyScope): string[] {
  if (scope.allowedTargetGroups.length > 0) return [...new Set(scope.allowedTargetGroups)];
  if (scope.tagScope !== undefined) return [];
  if (!scope.allowAnyTargetGroup) {
    throw new ConfigError('--target-groups (ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS)', 'required (or --tag-scoped): the target group ARNs the policy lets this host join');
  }
  return [regionGroups(scope, 'with --allow-any-target-group: the policy then covers every target group of one region and account')];
}

/**
 * The services whose tags --read-service-tags reads: every service of the accounts and regions
 * of the groups (a task's service and its target groups live in one region), or of --region.
 */
export function serviceResources(scope: PolicyScope): string[] {
  return ecsPlaces(scope).map((p) => `${p}:service/*`);
}

/** `arn:PARTITION:ecs:REGION:ACCOUNT` for each account and region of the groups (or of --region and --account). */
function ecsPlaces(scope: PolicyScope): string[] {
  const groups = [...policyResources(scope), ...(scope.tagScope !== undefined ? [taggedGroups(scope)] : [])];
  const places = groups.map((arn) => arn.split(':')).map(([, partition, , region, account]) => `arn:${partition}:ecs:${region}:${account}`);
  return [...new Set(places)];
}

/** The cluster's name, from a name or a cluster ARN; `*` for any. */
function clusterName(scope: PolicyScope): string {
  const c = scope.cluster;
  if (c === undefined || c === '') return '*';
  const name = c.startsWith('arn:') ? (c.split(':cluster/')[1] ?? '') : c;
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(name)) throw new ConfigError('--cluster', `"${c}" is neither a cluster name nor a cluster ARN`);
  return name;
}

/** The container instances the address attribute goes on: the cluster's, in the groups' accounts and regions. */
export function containerInstanceResources(scope: PolicyScope): string[] {
  const cluster = clusterName(scope);
  return ecsPlaces(scope).map((p) => `${p}:container-instance/${cluster}/*`);
}

function taggedGroups(scope: PolicyScope): string {
  return regionGroups(scope, 'with --tag-scoped: the tagged groups of one region and account');
}

const CHANGE_ACTIONS = ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'];

/** The policy document. */
export function iamPolicy(scope: PolicyScope): unknown {
  const listed = policyResources(scope);
  const tag = scope.tagScope;
  return {
    Version: '2012-10-17',
    Statement: [
      ...(listed.length > 0 ? [{ Sid: 'RegisterTargetsInAllowedTargetGroups', Effect: 'Allow', Action: CHANGE_ACTIONS, Resource: listed }] : []),
      // Operators add a group by tagging it; the tag is read from the group at each call, so untagging it takes the grant away.
      ...(tag !== undefined
        ? [{ Sid: 'RegisterTargetsInTaggedTargetGroups', Effect: 'Allow', Action: CHANGE_ACTIONS, Resource: taggedGroups(scope), Condition: { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value } } }]
        : []),
      {
        Sid: 'DescribeTargetGroupsAndHealth',
        Effect: 'Allow',
        Action: [
          'elasticloadbalancing:DescribeTargetHealth',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeTargetGroupAttributes',
          // A group with cross-zone load balancing off takes no AvailabilityZone=all: its load balancers' zones are where a target can go.
          'elasticloadbalancing:DescribeLoadBalancers',
        ],
        Resource: '*',
      },
      ...(scope.readServiceTags === true
        ? [{ Sid: 'ReadServiceTags', Effect: 'Allow', Action: ['ecs:ListTagsForResource'], Resource: serviceResources(scope) }]
        : []),
      { Sid: 'PutAddressAttributeOnContainerInstances', Effect: 'Allow', Action: ['ecs:PutAttributes'], Resource: containerInstanceResources(scope) },
    ],
  };
}

/**
 * The policy of `fleet clean` (and `fleet status`, which needs all but DeregisterTargets): the
 * cluster's container instances and tasks read, the task definitions' labels read (the call
 * takes no resource), target health read, and DeregisterTargets on the allowed groups only.
 */
export function fleetCleanPolicy(scope: PolicyScope): unknown {
  if (scope.allowedTargetGroups.length === 0) throw new ConfigError('--target-groups (ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS)', 'required with --fleet-clean: the target groups fleet clean may deregister from');
  const cluster = clusterName(scope);
  const places = ecsPlaces(scope);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ReadClusterInstancesAndTasks',
        Effect: 'Allow',
        Action: ['ecs:ListContainerInstances', 'ecs:DescribeContainerInstances', 'ecs:ListTasks', 'ecs:DescribeTasks'],
        Resource: places.flatMap((p) => [`${p}:cluster/${cluster}`, `${p}:container-instance/${cluster}/*`, `${p}:task/${cluster}/*`]),
      },
      { Sid: 'ReadTaskDefinitionLabels', Effect: 'Allow', Action: ['ecs:DescribeTaskDefinition'], Resource: '*' },
      { Sid: 'ReadTargetHealth', Effect: 'Allow', Action: ['elasticloadbalancing:DescribeTargetHealth'], Resource: '*' },
      { Sid: 'DeregisterStaleTargetsInAllowedTargetGroups', Effect: 'Allow', Action: ['elasticloadbalancing:DeregisterTargets'], Resource: policyResources(scope) },
    ],
  };
}
