// The IAM policy: RegisterTargets/DeregisterTargets on exactly the allowed groups (or every
// group of one region with --allow-any-target-group), Describe* on "*".
import { describe, expect, it } from 'vitest';
import { iamPolicy, partitionOf, policyResources, type PolicyScope } from '../../agent/iam-policy.ts';

const A = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const B = 'arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:targetgroup/api/fedcba9876543210';

describe('policyResources', () => {
  it.each<[string, PolicyScope, string[]]>([
    ['the allowed groups, duplicates once', { allowedTargetGroups: [A, B, A], allowAnyTargetGroup: false }, [A, B]],
    ['a list wins over --allow-any-target-group, as in the agent', { allowedTargetGroups: [A], allowAnyTargetGroup: true, region: 'eu-west-1' }, [A]],
    ['any group of a commercial region', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1' }, ['arn:aws:elasticloadbalancing:eu-west-1:*:targetgroup/*']],
    ['any group of a GovCloud region', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'us-gov-west-1' }, ['arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:*:targetgroup/*']],
    ['any group of a China region', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'cn-north-1' }, ['arn:aws-cn:elasticloadbalancing:cn-north-1:*:targetgroup/*']],
  ])('%s', (_case, scope, resources) => {
    expect(policyResources(scope)).toEqual(resources);
  });

  it.each<[string, PolicyScope, RegExp]>([
    ['no group at all', { allowedTargetGroups: [], allowAnyTargetGroup: false }, /invalid --target-groups \(ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS\): required/],
    ['any group without a region', { allowedTargetGroups: [], allowAnyTargetGroup: true }, /invalid --region \(AWS_REGION\): required with --allow-any-target-group/],
    ['any group with a bad region', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'europe' }, /"europe" is not an AWS region/],
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
      ],
    });
  });

  it.each<[string, PolicyScope, string[] | undefined]>([
    ['not without --read-service-tags', { allowedTargetGroups: [A], allowAnyTargetGroup: false }, undefined],
    ['the services of the groups\' accounts and regions', { allowedTargetGroups: [A, B, A], allowAnyTargetGroup: false, readServiceTags: true }, ['arn:aws:ecs:eu-west-1:123456789012:service/*', 'arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/*']],
    ['every service of the region with any group', { allowedTargetGroups: [], allowAnyTargetGroup: true, region: 'eu-west-1', readServiceTags: true }, ['arn:aws:ecs:eu-west-1:*:service/*']],
  ])('grants ecs:ListTagsForResource %s', (_case, scope, resources) => {
    const statements = (iamPolicy(scope) as { Statement: { Sid: string; Action: string[]; Resource: unknown }[] }).Statement;
    const tags = statements.find((s) => s.Sid === 'ReadServiceTags');
    expect(tags?.Resource).toEqual(resources);
    if (resources) expect(tags?.Action).toEqual(['ecs:ListTagsForResource']);
  });
});
