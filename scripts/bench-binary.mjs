#!/usr/bin/env node
/**
 * The figures the README quotes for the single executable, as one JSON line on stdout
 * (`npm run bench:binary`, also run by scripts/check-binaries.sh):
 *   sizes (raw, gzipped, tar.gz) per architecture, from dist/bin/build-info.json;
 *   start-up to first reconcile and idle RSS with a few containers, measured by the binary
 *   smoke test (test/binaries/binary-smoke.test.ts) against a real Docker engine and the local
 *   ELBv2 endpoint, which writes dist/bin/bench.json.
 *
 * Usage: node scripts/bench-binary.mjs [--no-run]   (--no-run: print the last measurement)
 * Needs `npm run build:binaries` first, and a Docker engine the test harness can use or start.
 */
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN_DIR = join(ROOT, 'dist', 'bin');
const BINARY = join(BIN_DIR, 'ecs-anywhere-lb-agent-linux-x64');
const BENCH = join(BIN_DIR, 'bench.json');
const SMOKE_TEST = 'test/binaries/binary-smoke.test.ts';

/** @param {string} message */
function fail(message) {
  console.error(`bench-binary: ${message}`);
  process.exit(1);
}

/** The Node 22 of node_modules (vitest needs Node >= 22.12; the system Node may be older). */
function pinnedNode() {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
  } catch {
    return process.execPath;
  }
}

const run = !process.argv.includes('--no-run');
if (!existsSync(BINARY)) fail(`${BINARY} does not exist: run \`npm run build:binaries\` first`);

const started = Date.now();
if (run) {
  const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
  // stdout of the test run goes to stderr: this script's stdout is the JSON line alone.
  const result = spawnSync(pinnedNode(), [vitest, 'run', SMOKE_TEST], { cwd: ROOT, stdio: ['ignore', process.stderr, process.stderr] });
  if (result.error) fail(`cannot run vitest: ${result.error.message}`);
  if (result.status !== 0) fail(`the binary smoke test failed (${SMOKE_TEST}, exit status ${result.status})`);
}
// describe.skipIf() skips silently: a fresh bench.json is the proof that the test really ran.
if (!existsSync(BENCH) || (run && statSync(BENCH).mtimeMs < started)) {
  fail(`${SMOKE_TEST} did not write ${BENCH}: was it skipped (no x64 binary, not an x64 Linux host)?`);
}
const bench = JSON.parse(readFileSync(BENCH, 'utf8'));
console.log(JSON.stringify(bench));
