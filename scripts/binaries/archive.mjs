// Checksums and release tarballs for the binary build. Tarballs are reproducible: sorted
// names, root ownership, fixed modes and one mtime (SOURCE_DATE_EPOCH or the commit's time),
// and a gzip header without a timestamp.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { BuildError } from './run.mjs';

/** gzip level for the tarballs and the reported gzipped sizes (level 9 saves 0.6 % for 2.6x the time). */
const GZIP_LEVEL = 6;

/**
 * The hex SHA-256 of a file.
 * @param {string} file
 */
export async function sha256Of(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Writes `<file>.sha256` in sha256sum's format (`HEX  name`, name without directory) so that
 * `sha256sum -c` checks it from the file's own directory.
 * @param {string} file
 * @returns {Promise<string>} the hex digest
 */
export async function writeSha256File(file) {
  const hex = await sha256Of(file);
  await writeFile(`${file}.sha256`, `${hex}  ${basename(file)}\n`);
  return hex;
}

/**
 * The size in bytes of a file once gzipped (at the tarballs' level), without writing it.
 * @param {string} file
 */
export async function gzippedSize(file) {
  let size = 0;
  const counter = new Writable({
    write(chunk, _encoding, done) {
      size += chunk.length;
      done();
    },
  });
  await pipeline(createReadStream(file), createGzip({ level: GZIP_LEVEL }), counter);
  return size;
}

/**
 * Writes `out` (.tar.gz) holding `topDir` (a directory inside `stageDir`) and everything in it.
 * @param {{ stageDir: string, topDir: string, out: string, mtime: number }} options
 */
export async function writeTarGz({ stageDir, topDir, out, mtime }) {
  const partial = `${out}.partial`;
  const tar = spawn(
    'tar',
    ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${mtime}`, '--format=gnu', '-C', stageDir, '-cf', '-', topDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve, reject) => {
    tar.on('error', (err) => reject(new BuildError(`cannot run tar: ${err.message}`)));
    tar.on('close', (code) => (code === 0 ? resolve(undefined) : reject(new BuildError(`tar failed (exit code ${code}): ${stderr.trim()}`))));
  });
  try {
    await Promise.all([pipeline(tar.stdout, createGzip({ level: GZIP_LEVEL }), createWriteStream(partial)), exited]);
    await rename(partial, out);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
