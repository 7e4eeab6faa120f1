/**
 * Target group ARNs: `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/16hex`.
 */
import { randomBytes } from 'node:crypto';

/** The parts of a well-formed target group ARN. */
export interface TargetGroupArnParts {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly name: string;
  readonly id: string;
}

const TARGET_GROUP_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):elasticloadbalancing:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):targetgroup\/([A-Za-z0-9-]{1,32})\/([0-9a-f]{16})$/;

/** Builds a fresh ARN for a new target group (random 16-hex suffix, as AWS does). */
export function newTargetGroupArn(region: string, accountId: string, name: string): string {
  return `arn:aws:elasticloadbalancing:${region}:${accountId}:targetgroup/${name}/${randomBytes(8).toString('hex')}`;
}

/** Parses a target group ARN; undefined when it is not one (callers turn that into ValidationError). */
export function parseTargetGroupArn(arn: string): TargetGroupArnParts | undefined {
  const match = TARGET_GROUP_ARN.exec(arn);
  if (!match) return undefined;
  const [, partition = '', region = '', accountId = '', name = '', id = ''] = match;
  return { partition, region, accountId, name, id };
}
