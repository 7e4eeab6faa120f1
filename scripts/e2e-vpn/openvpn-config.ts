/**
 * The OpenVPN configurations of e2e:vpn, pure text: a routed server (topology subnet, a
 * client subnet, the VPC route pushed to every client, a fixed address per client from
 * client-config-dir) and self-contained client configs (every key and certificate inline),
 * as `installer/install.sh --vpn-config` requires.
 */
import type { NetworkPlan } from './network-plan.ts';

/** PEM texts made by certificates.ts. */
export interface ClientCredentials {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The tls-crypt key shared by server and clients. */
  readonly tlsCrypt: string;
}

/** The files the server config names (it runs in the VPC namespace, not under the installer's rules). */
export interface ServerFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly tlsCrypt: string;
  readonly clientConfigDir: string;
}

export const OPENVPN_PORT = 1194;

/** Seconds between keepalive pings, and after which a silent peer counts as gone (server side; pushed to clients). */
export const KEEPALIVE = { intervalSeconds: 2, timeoutSeconds: 10 } as const;

/** The server's config: `dev` is its tun device in the VPC namespace. */
export function serverConfig(plan: NetworkPlan, files: ServerFiles, dev: string): string {
  return [
    '# e2e:vpn OpenVPN server (VPC namespace): routed, one fixed address per client',
    `dev ${dev}`,
    'dev-type tun',
    'proto udp',
    `port ${OPENVPN_PORT}`,
    // Answer each client from the address it sent to (the server has one underlay link per host).
    'multihome',
    'topology subnet',
    `server ${plan.clientNetwork} ${plan.clientMask}`,
    `push "route ${plan.vpcNetwork} ${plan.vpcMask}"`,
    `client-config-dir ${files.clientConfigDir}`,
    // A client without an entry is refused: every host has its fixed address.
    'ccd-exclusive',
    `keepalive ${KEEPALIVE.intervalSeconds} ${KEEPALIVE.timeoutSeconds}`,
    `ca ${files.ca}`,
    `cert ${files.cert}`,
    `key ${files.key}`,
    `tls-crypt ${files.tlsCrypt}`,
    'dh none',
    'verb 3',
    '',
  ].join('\n');
}

/** The client-config-dir entry that gives a client its fixed tunnel address. */
export function clientConfigDirEntry(address: string, plan: NetworkPlan): string {
  return `ifconfig-push ${address} ${plan.clientMask}\n`;
}

/**
 * A client config as a VPN administrator hands it to a host: one file, everything inline.
 * `dev` is `tun` (the kernel's first free tunN) or a device name of its own (with dev-type tun).
 */
export function clientConfig(remote: string, dev: string, credentials: ClientCredentials): string {
  const block = (tag: string, pem: string) => `<${tag}>\n${pem.trim()}\n</${tag}>`;
  return [
    'client',
    `dev ${dev}`,
    ...(dev === 'tun' ? [] : ['dev-type tun']),
    'proto udp',
    `remote ${remote} ${OPENVPN_PORT}`,
    'nobind',
    'remote-cert-tls server',
    // Come back at once after a restart; a stopped client tells the server (no 10 s wait there).
    'connect-retry 1 1',
    'explicit-exit-notify 1',
    'verb 3',
    block('ca', credentials.ca),
    block('cert', credentials.cert),
    block('key', credentials.key),
    block('tls-crypt', credentials.tlsCrypt),
    '',
  ].join('\n');
}
