// The IAM policy: RegisterTargets/DeregisterTargets on exactly the allowed groups (or every
// group of one region with --allow-any-target-group), Describe* on "*".
import { describe, expect, it } from 'vitest';
import { containerInstanceResources, fleetCleanPolicy, iamPolicy, parseTagScope, partitionOf, policyResources, type PolicyScope } from '../../agent/iam-policy.ts';

const A = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const ACCOUNT = '123456789012';
const B = 'arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:targetgroup/api/fedcba9876543210';

describe('policyResources', () => {
  it.each<[string, PolicyScope, string[]]>([
    ['the allowed groups, duplicates once', { allowedTargetGroups: [A, B, A], allowAnyTargetGroup: false }, [A, B]],
    ['a list wins over --allow-any-target-group, as in the agent', { allowedTargetGroups: [A], allowAnyTargetGroup: true, region: 'eu-west-1' }, [A]],
    ['any group of a commercial region and account', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1', account: ACCOUNT }, [`arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/*`]],
    ['any group of a GovCloud region', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'us-gov-west-1', account: ACCOUNT }, [`arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:${ACCOUNT}:targetgroup/*`]],
    ['any group of a China region', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'cn-north-1', account: ACCOUNT }, [`arn:aws-cn:elasticloadbalancing:cn-north-1:${ACCOUNT}:targetgroup/*`]],
    ['none unconditioned with --tag-scoped alone', { allowedTargetGroups: [], allowAnyTargetGroup: false, region: 'eu-west-1', account: ACCOUNT, tagScope: { key: 'lb', value: 'edge' } }, []],
  ])('%s', (_case, scope, resources) => {
    expect(policyResources(scope)).toEqual(resources);
  });

  it.each<[string, PolicyScope, RegExp]>([
    ['no group at all', { allowedTargetGroups: [], allowAnyTargetGroup: false }, /invalid --target-groups \(ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS\): required/],
    ['any group without a region', { allowedTargetGroups: [], allowAnyTargetGroup: true }, /invalid --region \(AWS_REGION\): required with --allow-any-target-group/],
    ['any group with a bad region', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'europe' }, /"europe" is not an AWS region/],
    ['any group without an account (no * account)', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1' }, /invalid --account \(AWS_ACCOUNT_ID\): required with --allow-any-target-group/],
    ['any group with * as the account', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1', account: '*' }, /"\*" is not an AWS account id/],
  ])('refuses %s', (_case, scope, message) => {
    expect(() => policyResources(scope)).toThrow(message);
  });

  it.each([['us-east-1', 'aws'], ['cn-northwest-1', 'aws-cn'], ['us-gov-east-1', 'aws-us-gov'], ['us-iso-east-1', 'aws-iso'], ['us-isob-east-1', 'aws-iso-b']])('%s is in partition %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
  });
});

describe('iamPolicy', () => {
  it('grants the changes on the groups and the Describe calls on *', () => {
    expect(iamPolicy({ allowedTargetGroups: [A], allowAnyTargetGroup: false })).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'RegisterTargetsInAllowedTargetGroups', Effect: 'Allow', Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'], Resource: [A] },
        {
          Sid: 'DescribeTargetGroupsAndHealth',
          Effect: 'Allow',
          Action: ['elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetGroupAttributes', 'elasticloadbalancing:DescribeLoadBalancers'],
          Resource: '*',
        },
        { Sid: 'PutAddressAttributeOnContainerInstances', Effect: 'Allow', Action: ['ecs:PutAttributes'], Resource: ['arn:aws:ecs:eu-west-1:123456789012:container-instance/*/*'] },
      ],
    });
  });

  it.each<[string, PolicyScope, string[]]>([
    ['every cluster of the groups\' accounts and regions', { allowedTargetGroups: [A, B], allowAnyTargetGroup: false }, ['arn:aws:ecs:eu-west-1:123456789012:container-instance/*/*', 'arn:aws-us-gov:ecs:us-gov-west-1:123456789012:container-instance/*/*']],
    ['one cluster by name', { allowedTargetGroups: [A], allowAnyTargetGroup: false, cluster: 'edge' }, ['arn:aws:ecs:eu-west-1:123456789012:container-instance/edge/*']],
    ['one cluster by ARN', { allowedTargetGroups: [A], allowAnyTargetGroup: false, cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/edge' }, ['arn:aws:ecs:eu-west-1:123456789012:container-instance/edge/*']],
    ['the pinned account of the region with any group', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1', account: ACCOUNT, cluster: 'edge' }, ['arn:aws:ecs:eu-west-1:123456789012:container-instance/edge/*']],
    ['the tagged groups\' account and region', { allowedTargetGroups: [], allowAnyTargetGroup: false, region: 'eu-west-1', account: ACCOUNT, tagScope: { key: 'lb', value: 'edge' } }, ['arn:aws:ecs:eu-west-1:123456789012:container-instance/*/*']],
  ])('grants ecs:PutAttributes on the container instances of %s', (_case, scope, resources) => {
    expect(containerInstanceResources(scope)).toEqual(resources);
  });

  it('refuses a cluster that is neither a name nor a cluster ARN', () => {
    expect(() => containerInstanceResources({ allowedTargetGroups: [A], allowAnyTargetGroup: false, cluster: 'edge/*' })).toThrow(/invalid --cluster: "edge\/\*" is neither a cluster name nor a cluster ARN/);
  });
});

describe('fleetCleanPolicy', () => {
  it('reads the cluster, its tasks and target health, and deregisters in the allowed groups only', () => {
    expect(fleetCleanPolicy({ allowedTargetGroups: [A], allowAnyTargetGroup: false, cluster: 'edge' })).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadClusterInstancesAndTasks',
          Effect: 'Allow',
          Action: ['ecs:ListContainerInstances', 'ecs:DescribeContainerInstances', 'ecs:ListTasks', 'ecs:DescribeTasks'],
          Resource: ['arn:aws:ecs:eu-west-1:123456789012:cluster/edge', 'arn:aws:ecs:eu-west-1:123456789012:container-instance/edge/*', 'arn:aws:ecs:eu-west-1:123456789012:task/edge/*'],
        },
        { Sid: 'ReadTaskDefinitionLabels', Effect: 'Allow', Action: ['ecs:DescribeTaskDefinition'], Resource: '*' },
        { Sid: 'ReadTargetHealth', Effect: 'Allow', Action: ['elasticloadbalancing:DescribeTargetHealth'], Resource: '*' },
        { Sid: 'DeregisterStaleTargetsInAllowedTargetGroups', Effect: 'Allow', Action: ['elasticloadbalancing:DeregisterTargets'], Resource: [A] },
      ],
    });
  });

  it('needs the allow-list', () => {
    expect(() => fleetCleanPolicy({ allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1' })).toThrow(/required with --fleet-clean/);
  });

  it.each<[string, PolicyScope, string[] | undefined]>([
    ['not without --read-service-tags', { allowedTargetGroups: [A], allowAnyTargetGroup: false }, undefined],
    ['the services of the groups\' accounts and regions', { allowedTargetGroups: [A, B, A], allowAnyTargetGroup: false, readServiceTags: true }, ['arn:aws:ecs:eu-west-1:123456789012:service/*', 'arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/*']],
    ['every service of the region and account with any group', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1', account: ACCOUNT, readServiceTags: true }, [`arn:aws:ecs:eu-west-1:${ACCOUNT}:service/*`]],
  ])('grants ecs:ListTagsForResource %s', (_case, scope, resources) => {
    const statements = (iamPolicy(scope) as { Statement: { Sid: string; Action: string[]; Resource: unknown }[] }).Statement;
    const tags = statements.find((s) => s.Sid === 'ReadServiceTags');
    expect(tags?.Resource).toEqual(resources);
    if (resources) expect(tags?.Action).toEqual(['ecs:ListTagsForResource']);
  });
});

describe('--tag-scoped', () => {
  const statements = (scope: PolicyScope) => (iamPolicy(scope) as { Statement: { Sid: string; Action: string[]; Resource: unknown; Condition?: unknown }[] }).Statement;

  it('grants the changes on the tagged groups of one region and account, beside the listed ones', () => {
    const s = statements({ allowedTargetGroups: [A], allowAnyTargetGroup: false, region: 'eu-west-1', account: ACCOUNT, tagScope: { key: 'ecs-anywhere-lb', value: 'site-a' } });
    expect(s.find((x) => x.Sid === 'RegisterTargetsInAllowedTargetGroups')?.Resource).toEqual([A]);
    expect(s.find((x) => x.Sid === 'RegisterTargetsInTaggedTargetGroups')).toEqual({
      Sid: 'RegisterTargetsInTaggedTargetGroups',
      Effect: 'Allow',
      Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
      Resource: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/*`,
      Condition: { StringEquals: { 'aws:ResourceTag/ecs-anywhere-lb': 'site-a' } },
    });
  });

  it('alone, grants no group without the tag', () => {
    const s = statements({ allowedTargetGroups: [], allowAnyTargetGroup: false, region: 'eu-west-1', account: ACCOUNT, tagScope: { key: 'lb', value: 'edge' } });
    expect(s.map((x) => x.Sid)).toEqual(['RegisterTargetsInTaggedTargetGroups', 'DescribeTargetGroupsAndHealth', 'PutAddressAttributeOnContainerInstances']);
    expect(s.filter((x) => x.Action.includes('elasticloadbalancing:RegisterTargets')).every((x) => x.Condition !== undefined)).toBe(true);
  });

  it.each<[string, PolicyScope, RegExp]>([
    ['without a region', { allowedTargetGroups: [], allowAnyTargetGroup: false, account: ACCOUNT, tagScope: { key: 'lb', value: 'edge' } }, /invalid --region \(AWS_REGION\): required with --tag-scoped/],
    ['without an account', { allowedTargetGroups: [], allowAnyTargetGroup: false, region: 'eu-west-1', tagScope: { key: 'lb', value: 'edge' } }, /invalid --account \(AWS_ACCOUNT_ID\): required with --tag-scoped/],
  ])('refuses %s', (_case, scope, message) => {
    expect(() => iamPolicy(scope)).toThrow(message);
  });

  it.each([['lb=edge', { key: 'lb', value: 'edge' }], ['site:name=a=b', { key: 'site:name', value: 'a=b' }]])('reads %s', (text, tag) => {
    expect(parseTagScope(text)).toEqual(tag);
  });

  it.each(['lb', '=edge', 'lb=', 'aws:cloudformation:stack-name=x', 'lb=a"b', `k=${'v'.repeat(257)}`])('refuses %j', (text) => {
    expect(() => parseTagScope(text)).toThrow(/invalid --tag-scoped: .* is not KEY=VALUE/);
  });
});

describe('no * account anywhere', () => {
  it.each<[string, PolicyScope]>([
    ['listed groups', { allowedTargetGroups: [A, B], allowAnyTargetGroup: false, readServiceTags: true }],
    ['--allow-any-target-group', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1', account: ACCOUNT, readServiceTags: true }],
    ['--tag-scoped', { allowedTargetGroups: [], allowAnyTargetGroup: false, region: 'eu-west-1', account: ACCOUNT, tagScope: { key: 'lb', value: 'edge' }, readServiceTags: true }],
  ])('%s', (_case, scope) => {
    const arns = JSON.stringify(iamPolicy(scope)).match(/arn:[^"]+/g) ?? [];
    expect(arns.length).toBeGreaterThan(1);
    for (const arn of arns) expect(arn.split(':')[4]).toMatch(/^[0-9]{12}$/);
  });
});
