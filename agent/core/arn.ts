/** Target group ARNs: shape check, region (each call goes to the ARN's region), short names for logs. */

const TARGET_GROUP_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

/** Whether the text is a well-formed target group ARN. */
export function isTargetGroupArn(text: string): boolean {
  return TARGET_GROUP_ARN.test(text);
}

/** The region named by a target group ARN. */
export function regionOfArn(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/** "tg/NAME" for log lines. */
export function shortTargetGroup(arn: string): string {
  const name = arn.split(':targetgroup/')[1]?.split('/')[0];
  return name ? `tg/${name}` : arn;
}
