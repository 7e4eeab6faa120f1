/**
 * The texts of the options that name where something listens or answers (the readiness gate,
 * the metrics server, the ECS endpoints), read into values; a bad one throws a ConfigError
 * naming the option.
 */
import { DEFAULT_READINESS_PORT } from './config-options.ts';
import { parseIpv4 } from './core/ipv4.ts';
import { ConfigError } from './errors.ts';
import { isWildcardAddress } from './listener-limits.ts';

/** Where the readiness gate listens: auto (the bridge gateway), off, or an address and port. */
export type ReadinessAddress = 'auto' | 'off' | { host: string; port: number };

/** An endpoint option: `off` (undefined), or an http(s) URL without query or fragment, trailing slashes dropped. */
export function endpointOption(text: string, option: string, example: string): string | undefined {
  const t = text.trim();
  if (t === 'off') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(t);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new ConfigError(option, `"${t}" is neither off nor an http:// URL such as ${example}`);
  }
  return t.replace(/\/+$/, '');
}

/** `auto`, `off`, or an IPv4 address with an optional port (default DEFAULT_READINESS_PORT). */
export function parseReadinessAddress(text: string, option: string): ReadinessAddress {
  const t = text.trim();
  if (t === 'auto' || t === 'off') return t;
  const m = /^([0-9.]+)(?::([0-9]{1,5}))?$/.exec(t);
  const port = m?.[2] !== undefined ? Number(m[2]) : DEFAULT_READINESS_PORT;
  if (!m || parseIpv4(m[1] as string) === undefined || port > 65535) throw new ConfigError(option, `"${text}" is not auto, off or IPv4[:PORT] (e.g. 172.17.0.1:${DEFAULT_READINESS_PORT}; port 0: any free port, logged)`);
  // Every interface would put the gate on the LAN too: the bridge gateway is the one address containers need.
  if (isWildcardAddress(m[1] as string)) throw new ConfigError(option, `"${text}" listens on every interface; give the Docker bridge's gateway address (or auto)`);
  return { host: m[1] as string, port };
}

/** HOST:PORT on loopback (the metrics server is for this host only). */
export function parseMetricsAddress(text: string, option: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):([0-9]{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || port < 1 || port > 65535) throw new ConfigError(option, `"${text}" is not HOST:PORT`);
  if (!(host === 'localhost' || host === '::1' || (parseIpv4(host) !== undefined && host.startsWith('127.')))) {
    throw new ConfigError(option, `"${host}" is not a loopback address; metrics are served on loopback only`);
  }
  return { host, port };
}
