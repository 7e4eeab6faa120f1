/**
 * How an option's text becomes its value: one reader per option type, and an option's own
 * reader where it has one (config-options.ts). A reader throws an Error saying what is wrong
 * with the text; config.ts's `readOption` turns it into a ConfigError naming the option.
 */
import type { OptionSpec } from './config-options.ts';
import { parseCidr } from './core/ipv4.ts';

/** Parses "90", "90s", "2m", "500ms", "1h" into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Math.round(Number(match[1]) * unit);
}

/** A comma-separated list, blanks dropped. */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function readBoolean(text: string): boolean {
  const t = text.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new Error(`"${text}" is not a boolean (true/false)`);
}

function readDuration(text: string, minMs: number): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`"${text}" is not a duration (e.g. 30s, 2m, 500ms)`);
  if (ms < minMs) throw new Error(`${text} is shorter than the minimum ${minMs} ms`);
  return ms;
}

function readEnum(text: string, values: readonly string[]): string {
  if (!values.includes(text)) throw new Error(`"${text}" is not one of ${values.join(', ')}`);
  return text;
}

function readCount(text: string, min: number, max: number, unit: string): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text.trim()) || n < min || n > max) throw new Error(`"${text}" is not a whole number of ${unit} between ${min} and ${max}`);
  return n;
}

function readCidrs(text: string) {
  return splitList(text).map((one) => {
    const cidr = parseCidr(one);
    if (!cidr) throw new Error(`"${one}" is not an IPv4 CIDR (e.g. 10.0.0.0/16)`);
    return cidr;
  });
}

/** The value of an option's text: its own reader, else its type's. */
export function valueOf(spec: OptionSpec, text: string): unknown {
  if (spec.read) return spec.read(text);
  switch (spec.type) {
    case 'boolean':
      return readBoolean(text);
    case 'duration':
      return readDuration(text, spec.min ?? 0);
    case 'enum':
      return readEnum(text, spec.values ?? []);
    case 'count':
      return readCount(text, spec.min ?? 0, spec.max ?? Number.MAX_SAFE_INTEGER, spec.unit ?? 'items');
    case 'cidrs':
      return readCidrs(text);
    case 'list':
      return splitList(text);
    case 'string':
      return text;
  }
}
