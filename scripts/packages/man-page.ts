/** ecs-anywhere-lb-agent(1), made from the agent's own --help text so the two cannot differ. */
import { helpText } from '../../agent/cli.ts';

/** roff-safe text: backslashes doubled, a leading . or ' protected. */
const roff = (line: string) => line.replace(/\\/g, '\\e').replace(/^([.'])/, '\\&$1');

export function manPage(version: string, date: Date): string {
  const [title = '', , ...rest] = helpText().split('\n');
  return [
    `.TH ECS-ANYWHERE-LB-AGENT 1 "${date.toISOString().slice(0, 10)}" "ecs-anywhere-lb-agent ${version}" "User Commands"`,
    '.SH NAME',
    `ecs-anywhere-lb-agent \\- ${roff(title.replace(/^ecs-anywhere-lb-agent: /, ''))}`,
    '.SH SYNOPSIS',
    '.B ecs-anywhere-lb-agent',
    '.I command',
    '[\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    'The systemd unit ecs-anywhere-lb-agent.service runs',
    '.B ecs-anywhere-lb-agent run',
    'with the configuration file /etc/ecs-anywhere-lb-agent/agent.env.',
    'What follows is the text of',
    '.BR "ecs-anywhere-lb-agent --help" .',
    '.PP',
    '.nf',
    ...rest.map(roff),
    '.fi',
    '.SH FILES',
    '.TP',
    '/etc/ecs-anywhere-lb-agent/agent.env',
    'the configuration (KEY=VALUE lines)',
    '.TP',
    '/var/lib/ecs-anywhere-lb-agent/state.json',
    'the addresses and targets this host registered',
    '',
  ].join('\n');
}
