// The one image every test container runs, built offline (no registry is reachable):
// Debian's statically linked busybox plus applet symlinks, imported as a one-layer image.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';

/** Repository and tag of the test image (the tag changes whenever the image's content does). */
export const TEST_IMAGE = 'ecs-anywhere-lb-test/busybox:2';
/** Label on the test image (and, via ecs-container.ts, on every test container). */
export const TEST_IMAGE_LABEL = 'ecs-anywhere-lb-test.image';

/** Where busybox is looked for, in order (busybox-static installs /bin/busybox). */
export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

// sh and httpd are what the containers run (trap and wait are shell builtins); the rest
// keeps `docker exec` debugging bearable.
const APPLETS = [
  'sh', 'ash', 'httpd', 'sleep', 'wget', 'echo', 'printf', 'mkdir', 'cat', 'kill', 'rm', 'touch',
  'ls', 'ps', 'true', 'false', 'env', 'test', '[', 'date', 'hostname', 'ip', 'netstat', 'nc', 'seq',
  'head', 'tail', 'grep', 'sed', 'id', 'pidof', 'usleep', 'timeout',
];

// GET /cgi-bin/sleep?SECONDS: a request that stays in flight for SECONDS (fractions allowed),
// then answers the container's page. busybox httpd relays CGI headers as written: CRLF.
const SLEEP_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
sleep "\${QUERY_STRING:-0}"
cat /www/index.html
`;

/** Options of {@link ensureTestImage}. */
export interface EnsureTestImageOptions {
  /** busybox binary to copy; default env `ECSLB_TEST_BUSYBOX`, else {@link BUSYBOX_CANDIDATES}. */
  busyboxPath?: string;
  /** Rebuild even if the image exists. */
  rebuild?: boolean;
  log?: (message: string) => void;
}

/**
 * Returns {@link TEST_IMAGE}, importing it first if the engine lacks it. Needs a
 * statically linked busybox (Debian's busybox-static) and the system `tar`.
 */
export async function ensureTestImage(docker: Docker, options: EnsureTestImageOptions = {}): Promise<string> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[test-image] ${m}\n`));
  if (!options.rebuild && (await imageExists(docker, TEST_IMAGE))) return TEST_IMAGE;
  const started = Date.now();
  const busybox = findStaticBusybox(options.busyboxPath ?? process.env.ECSLB_TEST_BUSYBOX);
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ecslb-image-'));
  try {
    await fsp.mkdir(path.join(root, 'bin'));
    await fsp.copyFile(busybox, path.join(root, 'bin', 'busybox'));
    await fsp.chmod(path.join(root, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) {
      await fsp.symlink('busybox', path.join(root, 'bin', applet));
    }
    await fsp.mkdir(path.join(root, 'www', 'cgi-bin'), { recursive: true });
    await fsp.writeFile(path.join(root, 'www', 'cgi-bin', 'sleep'), SLEEP_CGI, { mode: 0o755 });
    await fsp.chmod(path.join(root, 'www', 'cgi-bin', 'sleep'), 0o755);
    await fsp.mkdir(path.join(root, 'tmp'));
    await fsp.chmod(path.join(root, 'tmp'), 0o1777);
    await fsp.mkdir(path.join(root, 'etc'));
    await fsp.writeFile(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
    await fsp.writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\n');
    await importDirectory(docker, root, TEST_IMAGE);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
  if (!(await imageExists(docker, TEST_IMAGE))) {
    throw new Error(`imported ${TEST_IMAGE} but the engine does not list it`);
  }
  log(`built ${TEST_IMAGE} from ${busybox} in ${Date.now() - started} ms`);
  return TEST_IMAGE;
}

/**
 * Returns a statically linked busybox path, or throws saying what to install: a
 * dynamically linked one (Debian's `busybox` package) would not run in an empty image.
 */
export function findStaticBusybox(explicit?: string): string {
  const candidates = explicit ? [explicit] : BUSYBOX_CANDIDATES;
  const dynamic: string[] = [];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) continue;
    const real = fs.realpathSync(candidate);
    const interpreter = elfInterpreter(real);
    if (interpreter === undefined) return real;
    dynamic.push(`${candidate} (dynamically linked, interpreter ${interpreter})`);
  }
  const found = dynamic.length > 0 ? `found only ${dynamic.join(', ')}` : `none of ${candidates.join(', ')} exists`;
  throw new Error(
    `the test image needs a statically linked busybox: ${found}. Install Debian's busybox-static ` +
      '(`apt-get install -y busybox-static`, or run scripts/install-ci-deps.sh as root), ' +
      'or set ECSLB_TEST_BUSYBOX to a static busybox binary.',
  );
}

/** The PT_INTERP of an ELF file (undefined when statically linked); throws if not ELF. */
function elfInterpreter(file: string): string | undefined {
  const data = fs.readFileSync(file);
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF executable`);
  const is64 = data[4] === 2;
  const le = data[5] === 1;
  const u16 = (o: number) => (le ? data.readUInt16LE(o) : data.readUInt16BE(o));
  const u32 = (o: number) => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? data.readBigUInt64LE(o) : data.readBigUInt64BE(o));
  const phoff = is64 ? u64(0x20) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < phnum; i++) {
    const header = phoff + i * phentsize;
    if (u32(header) !== 3) continue; // PT_INTERP
    const offset = is64 ? u64(header + 0x08) : u32(header + 0x04);
    const size = is64 ? u64(header + 0x20) : u32(header + 0x10);
    return data.subarray(offset, offset + size).toString('latin1').replace(/\0+$/, '');
  }
  return undefined;
}

async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** `tar -C dir -c . | docker import - ref`, through the engine API. */
async function importDirectory(docker: Docker, dir: string, ref: string): Promise<void> {
  const colon = ref.lastIndexOf(':');
  const [repo, tag] = [ref.slice(0, colon), ref.slice(colon + 1)];
  const tar = spawn('tar', ['-C', dir, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tarError = '';
  tar.stderr.setEncoding('utf8').on('data', (chunk: string) => (tarError += chunk));
  const tarDone = new Promise<void>((resolve, reject) => {
    tar.on('error', (error) => reject(new Error(`cannot run tar: ${error.message}`)));
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}: ${tarError.trim()}`))));
  });
  const response = await docker.importImage(tar.stdout, {
    repo,
    tag,
    changes: [`LABEL ${TEST_IMAGE_LABEL}=1`, 'ENV PATH=/bin', 'CMD ["/bin/sh"]'],
  });
  let body = '';
  for await (const chunk of response) body += chunk.toString();
  await tarDone;
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    let message: { error?: string; errorDetail?: { message?: string } };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      continue;
    }
    if (message.error ?? message.errorDetail) {
      throw new Error(`docker import of ${ref} failed: ${message.errorDetail?.message ?? message.error}`);
    }
  }
}
