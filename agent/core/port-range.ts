/** A range of TCP ports, both ends included: --host-port-range. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** ECS's dynamic host ports when ECS_DYNAMIC_HOST_PORT_RANGE is unset: the kernel's ip_local_port_range default. */
export const ECS_DYNAMIC_PORT_RANGE = '32768-60999';

/** Parses MIN-MAX (1 <= MIN <= MAX <= 65535); undefined when the text is no such range. */
export function parsePortRange(text: string): PortRange | undefined {
  const m = /^\s*([0-9]{1,5})\s*-\s*([0-9]{1,5})\s*$/.exec(text);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = Number(m[2]);
  return min >= 1 && min <= max && max <= 65535 ? { min, max } : undefined;
}

export function inPortRange(port: number, range: PortRange): boolean {
  return port >= range.min && port <= range.max;
}
