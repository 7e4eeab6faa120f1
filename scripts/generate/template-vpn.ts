/**
 * The VPN instance's user data: the stack's values written to /etc/ecs-anywhere-lb-vpn.env, the
 * server's tool (cloudformation/ecs-anywhere-lb-vpn.sh, kept as a file so shellcheck reads it)
 * written to /usr/local/sbin/ecs-anywhere-lb-vpn, then its first-boot `setup`.
 */
import { readFileSync } from 'node:fs';

export const VPN_TOOL_FILE = new URL('../../cloudformation/ecs-anywhere-lb-vpn.sh', import.meta.url);
export const VPN_TOOL_PATH = '/usr/local/sbin/ecs-anywhere-lb-vpn';
export const VPN_ENV_FILE = '/etc/ecs-anywhere-lb-vpn.env';
const TOOL_END = 'ECS_ANYWHERE_LB_VPN_TOOL';

/** The tool's settings and the template expression (Fn::Sub text) that gives each. */
export const VPN_SETTINGS: readonly (readonly [string, string])[] = [
  ['VPN_CLIENT_CIDR', '${VpnClientCidr}'],
  ['VPC_CIDR', '${VpcCidr}'],
  ['VPN_PORT', '${VpnPort}'],
  ['VPN_PUBLIC_ADDRESS', '${VpnAddress}'],
  ['PKI_PARAMETER_PATH', '/ecs-anywhere-lb/${AWS::StackName}/openvpn'],
  ['AWS_REGION', '${AWS::Region}'],
];

/** The shell text before the tool, with each setting's value as `value` gives it. */
export function userDataHead(value: (expression: string) => string): string {
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    `cat > ${VPN_ENV_FILE} <<'EOF'`,
    ...VPN_SETTINGS.map(([name, expression]) => `${name}='${value(expression)}'`),
    'EOF',
    `cat > ${VPN_TOOL_PATH} <<'${TOOL_END}'`,
    '',
  ].join('\n');
}

/** The shell text after the tool. */
export const USER_DATA_TAIL = [TOOL_END, `chmod 0755 ${VPN_TOOL_PATH}`, `${VPN_TOOL_PATH} setup`, ''].join('\n');

/** The whole user data, values filled in by `value` (for checking it as the instance will run it). */
export function userDataText(value: (expression: string) => string): string {
  return userDataHead(value) + readFileSync(VPN_TOOL_FILE, 'utf8') + USER_DATA_TAIL;
}

const literal = (text: string, indent: string) => text.replace(/\n$/, '').split('\n').map((l) => (l === '' ? '' : indent + l)).join('\n');

/** The YAML of the instance's UserData value, indented for its place in the template. */
export function userDataYaml(indent: string): string {
  const item = `${indent}    `;
  return [
    `${indent}Fn::Base64:`,
    `${indent}  Fn::Join:`,
    `${indent}    - ""`,
    `${indent}    - - Fn::Sub: |`,
    literal(userDataHead((e) => e), `${item}      `),
    `${item}  - |`,
    literal(readFileSync(VPN_TOOL_FILE, 'utf8'), `${item}    `),
    `${item}  - |`,
    literal(USER_DATA_TAIL, `${item}    `),
  ].join('\n');
}
