/**
 * Facts about the machine that help support read a `check` report: the board or product
 * (a Raspberry Pi names its model in the device tree, a PC or VM in DMI), the distribution,
 * the kernel and the CPU architecture. Node's fs and os answer all of it, so no system-
 * information package is needed.
 */
import { readFile } from 'node:fs/promises';
import { arch, release } from 'node:os';

/** What `check` reports about the host. */
export interface HostFacts {
  /** "Raspberry Pi 4 Model B Rev 1.4", "QEMU Standard PC (Q35 + ICH9, 2009)"; undefined when the firmware does not say. */
  readonly model?: string;
  /** PRETTY_NAME of /etc/os-release, e.g. "Debian GNU/Linux 12 (bookworm)". */
  readonly os?: string;
  readonly kernel: string;
  readonly arch: string;
}

/** Reads a small text file; undefined when it is missing or unreadable. */
export type ReadText = (path: string) => Promise<string | undefined>;

const readText: ReadText = (path) => readFile(path, 'utf8').then((t) => t, () => undefined);

/** PRETTY_NAME (else NAME VERSION) of an os-release file. */
export function parseOsRelease(text: string): string | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) fields.set(match[1] as string, (match[2] as string).replace(/^(["'])(.*)\1$/, '$2'));
  }
  const pretty = fields.get('PRETTY_NAME');
  if (pretty) return pretty;
  const name = [fields.get('NAME'), fields.get('VERSION')].filter(Boolean).join(' ');
  return name === '' ? undefined : name;
}

/** Device-tree strings end with NUL; DMI fields end with a newline and may hold placeholders. */
function clean(text: string | undefined): string | undefined {
  const value = text?.replace(/\0/g, '').trim();
  return value && !/^(to be filled by o\.e\.m\.|default string|system product name|not specified)$/i.test(value) ? value : undefined;
}

/** The board (device tree, as on a Raspberry Pi) or the vendor and product (DMI, as on PCs and VMs). */
export async function boardModel(read: ReadText = readText): Promise<string | undefined> {
  const tree = clean(await read('/proc/device-tree/model')) ?? clean(await read('/sys/firmware/devicetree/base/model'));
  if (tree) return tree;
  const vendor = clean(await read('/sys/class/dmi/id/sys_vendor'));
  const product = clean(await read('/sys/class/dmi/id/product_name'));
  if (!product) return vendor;
  return vendor && !product.startsWith(vendor) ? `${vendor} ${product}` : product;
}

/** Gathers the facts; never throws (a fact that cannot be read is left out). */
export async function hostFacts(read: ReadText = readText): Promise<HostFacts> {
  const model = await boardModel(read);
  const osRelease = (await read('/etc/os-release')) ?? (await read('/usr/lib/os-release'));
  const os = osRelease !== undefined ? parseOsRelease(osRelease) : undefined;
  return { ...(model ? { model } : {}), ...(os ? { os } : {}), kernel: release(), arch: arch() };
}

/** One line: "Raspberry Pi 4 Model B Rev 1.4; Debian GNU/Linux 12 (bookworm); Linux 6.1.0-rpi7 arm64". */
export function describeHost(facts: HostFacts): string {
  return [facts.model ?? 'board or product unknown', facts.os ?? 'distribution unknown', `Linux ${facts.kernel} ${facts.arch}`].join('; ');
}
