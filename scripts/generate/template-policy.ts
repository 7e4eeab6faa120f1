/**
 * The CloudFormation copy of the agent's IAM policy: `iamPolicy` (agent/iam-policy.ts, the one
 * template of it, what `ecs-anywhere-lb-agent iam-policy` prints) rendered for the stack's own
 * target groups. The policy is built for stand-in ARNs, then each stand-in becomes the stack's
 * reference: a group's ARN its `Ref`, this account, region and partition their pseudo parameters.
 * A statement present only with --read-service-tags is kept behind the stack's condition.
 */
import { isDeepStrictEqual } from 'node:util';
import { iamPolicy } from '../../agent/iam-policy.ts';

/** The template's target groups, in order, and the condition that makes each (none: always made). */
export const TEMPLATE_GROUPS: readonly { readonly logicalId: string; readonly condition?: string }[] = [
  { logicalId: 'TargetGroup1' },
  { logicalId: 'TargetGroup2', condition: 'HasTargetGroup2' },
  { logicalId: 'TargetGroup3', condition: 'HasTargetGroup3' },
  { logicalId: 'TargetGroup4', condition: 'HasTargetGroup4' },
];

/** The template's condition for `ReadServiceTags=true`. */
export const READ_SERVICE_TAGS_CONDITION = 'ReadsServiceTags';

// Stand-ins no real ARN holds: a region that matches the region pattern, account 000000000000.
const STAND_IN = { partition: 'aws', region: 'zz-stack-1', account: '000000000000' } as const;
const standInGroup = (i: number) =>
  `arn:${STAND_IN.partition}:elasticloadbalancing:${STAND_IN.region}:${STAND_IN.account}:targetgroup/stack-group-${i + 1}/000000000000000${i + 1}`;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One string of the policy as the template writes it. */
function templateValue(text: string): Json {
  const group = TEMPLATE_GROUPS.find((_, i) => standInGroup(i) === text);
  if (group) {
    const { logicalId, condition } = group;
    return condition === undefined ? { Ref: logicalId } : { 'Fn::If': [condition, { Ref: logicalId }, { Ref: 'AWS::NoValue' }] };
  }
  const sub = text
    .replaceAll(`arn:${STAND_IN.partition}:`, 'arn:${AWS::Partition}:')
    .replaceAll(STAND_IN.region, '${AWS::Region}')
    .replaceAll(STAND_IN.account, '${AWS::AccountId}');
  if (sub.includes('stack-group-')) throw new Error(`the policy names a stack target group in a way the template cannot write: ${text}`);
  return sub === text ? text : { 'Fn::Sub': sub };
}

function toTemplate(value: unknown): Json {
  if (typeof value === 'string') return templateValue(value);
  if (Array.isArray(value)) return value.map(toTemplate);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toTemplate(v)]));
  return value as Json;
}

/** The policy document as the template holds it (CloudFormation JSON). */
export function templatePolicy(): Json {
  const scope = (readServiceTags: boolean) => ({ allowedTargetGroups: TEMPLATE_GROUPS.map((_, i) => standInGroup(i)), allowAnyTargetGroup: false, readServiceTags });
  const without = iamPolicy(scope(false)) as { Statement: unknown[] };
  const withTags = iamPolicy(scope(true)) as { Statement: unknown[] };
  const statements = withTags.Statement.map((s) => without.Statement.some((w) => isDeepStrictEqual(w, s))
    ? toTemplate(s)
    : { 'Fn::If': [READ_SERVICE_TAGS_CONDITION, toTemplate(s), { Ref: 'AWS::NoValue' }] });
  return { ...(toTemplate(withTags) as Record<string, Json>), Statement: statements };
}
