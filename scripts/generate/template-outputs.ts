/**
 * The stack's outputs a host needs: the exact agent.env lines and the install command. The
 * variable names come from the agent's option table (envName), the flags from the installer's.
 */
import { envName } from '../../agent/config-options.ts';
import { TEMPLATE_GROUPS } from './template-policy.ts';

/** The interface OpenVPN gives a client config with `dev tun` (ecs-anywhere-lb-vpn client). */
export const VPN_INTERFACE = 'tun0';

/** The stack's target group ARNs as a YAML flow list (groups the stack does not make drop out). */
const TARGET_GROUP_ARNS = `[${TEMPLATE_GROUPS.map((g) => (g.condition !== undefined ? `!If [${g.condition}, !Ref ${g.logicalId}, !Ref AWS::NoValue]` : `!Ref ${g.logicalId}`)).join(', ')}]`;

/** The YAML of the AgentEnv and InstallCommand outputs, indented for the Outputs section. */
export function outputsYaml(indent: string): string {
  const lines = [
    'TargetGroupArns:',
    `  Description: The target groups' ARNs, comma-separated (the agent's --allowed-target-groups)`,
    `  Value: !Join [",", ${TARGET_GROUP_ARNS}]`,
    'AgentEnv:',
    '  Description: The lines of /etc/ecs-anywhere-lb-agent/agent.env for every host',
    '  Value: !Join',
    '    - "\\n"',
    `    - - !Sub ["${envName('allowed-target-groups')}=\${Arns}", { Arns: !Join [",", ${TARGET_GROUP_ARNS}] }]`,
    `      - !Sub "${envName('vpc-cidr')}=\${VpcCidr}"`,
    `      - !If [CreatesVpn, "${envName('interface')}=${VPN_INTERFACE}", !Ref AWS::NoValue]`,
    `      - !If [ReadsServiceTags, "${envName('read-service-tags')}=true", !Ref AWS::NoValue]`,
    'InstallCommand:',
    '  Description: On a host, in the extracted release tarball (ACTIVATION_ID and ACTIVATION_CODE from aws ssm create-activation; HOST.ovpn from ecs-anywhere-lb-vpn client)',
    '  Value: !Join',
    '    - " "',
    '    - - sudo ./ecs-anywhere-install-wrapper.sh',
    '      - !Sub --region ${AWS::Region} --cluster ${EcsClusterName}',
    '      - --activation-id "$ACTIVATION_ID" --activation-code "$ACTIVATION_CODE"',
    `      - !Sub ["--target-groups \${Arns}", { Arns: !Join [",", ${TARGET_GROUP_ARNS}] }]`,
    '      - !Sub --vpc-cidr ${VpcCidr}',
    '      - !If [CreatesVpn, --vpn-config /root/HOST.ovpn, !Ref AWS::NoValue]',
    `      - !If [ReadsServiceTags, "--set ${envName('read-service-tags')}=true", !Ref AWS::NoValue]`,
  ];
  return lines.map((l) => indent + l).join('\n');
}
