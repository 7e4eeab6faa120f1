/**
 * The readers of the options whose text is more than its type (addresses, names, ARNs, paths,
 * limits): each turns a text into its value or throws an Error saying what is wrong with it.
 * The option table (config-options.ts) names each option's reader.
 */
import { isTargetGroupArn } from './core/arn.ts';
import { parseIpv4 } from './core/ipv4.ts';
import { parsePortRange, type PortRange } from './core/port-range.ts';
import { isWildcardAddress } from './listener-limits.ts';
import { splitList } from './config-values.ts';

/** The readiness gate's port when --readiness-address is auto or names no port. */
export const DEFAULT_READINESS_PORT = 9465;

/** Where the readiness gate listens: auto (the bridge gateway), off, or an address and port. */
export type ReadinessAddress = 'auto' | 'off' | { host: string; port: number };

/** An IPv4 address, as given. */
export function readIpv4(text: string): string {
  if (parseIpv4(text) === undefined) throw new Error(`"${text}" is not an IPv4 address`);
  return text;
}

/** A network interface name (at most 15 characters, as the kernel allows). */
export function readInterfaceName(text: string): string {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(text)) throw new Error(`"${text}" is not an interface name`);
  return text;
}

/** Comma-separated target group ARNs. */
export function readTargetGroupArns(text: string): string[] {
  const arns = splitList(text);
  for (const arn of arns) {
    if (!isTargetGroupArn(arn)) throw new Error(`"${arn}" is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)`);
  }
  return arns;
}

/** `all` or an Availability Zone's name, Local Zones included. */
export function readAvailabilityZone(text: string): string {
  if (!/^(all|[a-z]{2}(-[a-z0-9]+)+-[0-9]+[a-z])$/.test(text)) throw new Error(`"${text}" is neither "all" nor a zone name like us-east-1a or us-west-2-lax-1a`);
  return text;
}

/** An absolute path. */
export function readAbsolutePath(text: string): string {
  if (!text.startsWith('/')) throw new Error(`"${text}" must be an absolute path`);
  return text;
}

/** MIN-MAX ports. */
export function readPortRange(text: string): PortRange {
  const range = parsePortRange(text);
  if (range === undefined) throw new Error(`"${text}" is not MIN-MAX with 1 <= MIN <= MAX <= 65535 (e.g. 32768-60999)`);
  return range;
}

/** An endpoint reader: `off` (undefined), or an http(s) URL without query or fragment, trailing slashes dropped. */
export function endpointReader(example: string): (text: string) => string | undefined {
  return (text) => {
    const t = text.trim();
    if (t === 'off') return undefined;
    let url: URL | undefined;
    try {
      url = new URL(t);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
      throw new Error(`"${t}" is neither off nor an http:// URL such as ${example}`);
    }
    return t.replace(/\/+$/, '');
  };
}

/** `auto`, `off`, or an IPv4 address with an optional port (default DEFAULT_READINESS_PORT). */
export function readReadinessAddress(text: string): ReadinessAddress {
  const t = text.trim();
  if (t === 'auto' || t === 'off') return t;
  const m = /^([0-9.]+)(?::([0-9]{1,5}))?$/.exec(t);
  const port = m?.[2] !== undefined ? Number(m[2]) : DEFAULT_READINESS_PORT;
  if (!m || parseIpv4(m[1] as string) === undefined || port > 65535) throw new Error(`"${text}" is not auto, off or IPv4[:PORT] (e.g. 172.17.0.1:${DEFAULT_READINESS_PORT}; port 0: any free port, logged)`);
  // Every interface would put the gate on the LAN too: the bridge gateway is the one address containers need.
  if (isWildcardAddress(m[1] as string)) throw new Error(`"${text}" listens on every interface; give the Docker bridge's gateway address (or auto)`);
  return { host: m[1] as string, port };
}

/** HOST:PORT on loopback (the metrics server is for this host only). */
export function readMetricsAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):([0-9]{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || port < 1 || port > 65535) throw new Error(`"${text}" is not HOST:PORT`);
  if (!(host === 'localhost' || host === '::1' || (parseIpv4(host) !== undefined && host.startsWith('127.')))) {
    throw new Error(`"${host}" is not a loopback address; metrics are served on loopback only`);
  }
  return { host, port };
}
