// Host facts for `check`: the board model (device tree or DMI) and the distribution, read
// from the files a Raspberry Pi, a PC or a VM provides, as tables of file contents.
import { describe, expect, it } from 'vitest';
import { boardModel, describeHost, hostFacts, parseOsRelease } from '../../agent/host/host-facts.ts';

const files = (entries: Record<string, string>) => (path: string) => Promise.resolve(entries[path]);

describe('boardModel', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ['a Raspberry Pi 4 (device tree, NUL-terminated)', { '/proc/device-tree/model': 'Raspberry Pi 4 Model B Rev 1.4\0' }, 'Raspberry Pi 4 Model B Rev 1.4'],
    ['a Raspberry Pi 5 through /sys/firmware', { '/sys/firmware/devicetree/base/model': 'Raspberry Pi 5 Model B Rev 1.0\0' }, 'Raspberry Pi 5 Model B Rev 1.0'],
    ['a PC (DMI vendor and product)', { '/sys/class/dmi/id/sys_vendor': 'Dell Inc.\n', '/sys/class/dmi/id/product_name': 'OptiPlex 7090\n' }, 'Dell Inc. OptiPlex 7090'],
    ['a product name that already starts with the vendor', { '/sys/class/dmi/id/sys_vendor': 'QEMU\n', '/sys/class/dmi/id/product_name': 'QEMU Standard PC (Q35 + ICH9, 2009)\n' }, 'QEMU Standard PC (Q35 + ICH9, 2009)'],
    ['a placeholder product name', { '/sys/class/dmi/id/sys_vendor': 'Intel Corporation\n', '/sys/class/dmi/id/product_name': 'To be filled by O.E.M.\n' }, 'Intel Corporation'],
    ['the device tree wins over DMI', { '/proc/device-tree/model': 'Raspberry Pi 3 Model B Plus Rev 1.3\0', '/sys/class/dmi/id/product_name': 'x\n' }, 'Raspberry Pi 3 Model B Plus Rev 1.3'],
    ['a container that sees neither', {}, undefined],
  ])('%s', async (_case, entries, expected) => {
    expect(await boardModel(files(entries))).toBe(expected);
  });
});

describe('parseOsRelease', () => {
  it.each<[string, string, string | undefined]>([
    ['PRETTY_NAME in quotes', 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', 'Debian GNU/Linux 12 (bookworm)'],
    ['Raspberry Pi OS', 'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nID=raspbian\n', 'Raspbian GNU/Linux 11 (bullseye)'],
    ['NAME and VERSION without PRETTY_NAME', "NAME='Amazon Linux'\nVERSION=\"2\"\n", 'Amazon Linux 2'],
    ['nothing usable', '# empty\n', undefined],
  ])('%s', (_case, text, expected) => {
    expect(parseOsRelease(text)).toBe(expected);
  });
});

describe('hostFacts and describeHost', () => {
  it('puts board, distribution, kernel and architecture on one line', async () => {
    const facts = await hostFacts(files({ '/proc/device-tree/model': 'Raspberry Pi 4 Model B Rev 1.4\0', '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' }));
    expect(facts.model).toBe('Raspberry Pi 4 Model B Rev 1.4');
    expect(describeHost({ ...facts, kernel: '6.1.0-rpi7-rpi-v8', arch: 'arm64' })).toBe('Raspberry Pi 4 Model B Rev 1.4; Debian GNU/Linux 12 (bookworm); Linux 6.1.0-rpi7-rpi-v8 arm64');
  });

  it('says what it could not find instead of failing', async () => {
    const facts = await hostFacts(files({}));
    expect(describeHost({ ...facts, kernel: '6.1.0', arch: 'x64' })).toBe('board or product unknown; distribution unknown; Linux 6.1.0 x64');
  });
});
