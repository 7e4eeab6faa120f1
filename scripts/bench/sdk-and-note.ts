// `npm run bench:sdk-and-note -- [--calls N] [--gap-ms MS] [--flags executable|node] [--json FILE]`: what the start
// path's last step is made of, apart from Docker and the network. One process, the AWS SDK's
// ELBv2 client with an HTTP handler that answers at once, and the agent's journal write (one
// O_DSYNC append through a FileHandle, as agent/state/state-store.ts makes it), one call every
// `gap` ms as in the bench's lone rounds (code and caches go cold between events, which is
// half of the SDK's cost: with calls 1 ms apart it takes about half as long). Each mode's time is
// from the start to the request reaching the handler:
//  - sdk: RegisterTargets prepared and signed, nothing else;
//  - note: the journal append alone (to its completion);
//  - overlapped: the append issued, then the call, held before the handler until the append is
//    done (agent/elb/elbv2-registry.ts `sendAfter`): what the agent does;
//  - sync-first: the append made with writeSync, then the call;
//  - no-dsync: overlapped, the append without O_DSYNC (what durability costs on top).
// The modes take turns, so each sees the same machine. It runs with the flags baked into the
// executables (scripts/binaries/exec-argv.mjs: the agent's case; it starts itself again with
// them), or with `--flags node` with Node's defaults.
import { spawnSync } from 'node:child_process';
import { openSync, writeFileSync, writeSync, constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ElasticLoadBalancingV2Client, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { sleep } from '../../test/support/wait.ts';
import { tempDir } from '../../test/support/agent-process.ts';
import { EXEC_ARGV } from '../binaries/exec-argv.mjs';
import { summary, type Summary } from './stats.ts';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '150' }, 'gap-ms': { type: 'string', default: '30' }, flags: { type: 'string', default: 'executable' }, json: { type: 'string' } } });
const calls = Number(values.calls);
const gapMs = Number(values['gap-ms']);
if (!Number.isInteger(calls) || calls < 10 || !(gapMs >= 0)) throw new Error('--calls takes an integer of at least 10, --gap-ms a number of milliseconds');
if (values.flags !== 'executable' && values.flags !== 'node') throw new Error(`--flags takes executable or node, not ${values.flags}`);
const nodeFlags = values.flags === 'executable' ? EXEC_ARGV : [];
// V8 flags go on node's command line (NODE_OPTIONS refuses --no-opt): start again with them, tsx as the loader.
const CHILD = 'ECSLB_SDK_NOTE_CHILD';
if (nodeFlags.length > 0 && process.env[CHILD] === undefined) {
  const child = spawnSync(process.execPath, [...nodeFlags, '--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, [CHILD]: '1' } });
  process.exit(child.status ?? 1);
}

// Where the bench keeps the agent's state directory (test/support/agent-process.ts).
const scratch = tempDir('ecslb-sdk-note-');
const dir = scratch.path;
const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const LINE = `${JSON.stringify({ seq: 1, note: 'register', targets: [{ targetGroupArn: GROUP, id: '10.0.0.1', port: 32768 }] })}\n`;
const RESPONSE = '<RegisterTargetsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><RegisterTargetsResult/><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></RegisterTargetsResponse>';

let began = 0;
let reached: number[] = [];
const client = new ElasticLoadBalancingV2Client({
  region: 'eu-west-1',
  endpoint: 'http://127.0.0.1:9',
  credentials: async () => ({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example', sessionToken: 'example' }),
  maxAttempts: 1,
  requestHandler: {
    handle: async () => {
      reached.push(performance.now() - began);
      return { response: { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(RESPONSE)]) } as never };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  },
});

function command(port: number, after?: Promise<unknown>): RegisterTargetsCommand {
  const c = new RegisterTargetsCommand({ TargetGroupArn: GROUP, Targets: [{ Id: '10.0.0.1', Port: port }] });
  if (after) c.middlewareStack.add((next) => async (args) => (await after, next(args)), { step: 'finalizeRequest', priority: 'low', name: 'sendAfter' });
  return c;
}

const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND;
const journal = await open(join(dir, 'dsync.journal'), flags | constants.O_DSYNC, 0o600);
const plain = await open(join(dir, 'plain.journal'), flags, 0o600);
const syncFd = openSync(join(dir, 'sync.journal'), flags | constants.O_DSYNC, 0o600);

const modes: Record<string, (port: number) => Promise<void>> = {
  sdk: async (port) => void (await client.send(command(port))),
  note: async () => {
    await journal.write(LINE);
    reached.push(performance.now() - began);
  },
  overlapped: async (port) => void (await client.send(command(port, journal.write(LINE)))),
  'sync-first': async (port) => {
    writeSync(syncFd, LINE);
    await client.send(command(port));
  },
  'no-dsync': async (port) => void (await client.send(command(port, plain.write(LINE)))),
};

const names = Object.keys(modes);
const samples = new Map<string, number[]>(names.map((m) => [m, []]));
const WARM_UP = 10;
try {
  for (let i = 0; i < (calls + WARM_UP) * names.length; i++) {
    const name = names[i % names.length]!;
    await sleep(gapMs);
    reached = samples.get(name)!;
    began = performance.now();
    await modes[name]!(32768 + (i % 20000));
  }
} finally {
  await journal.close();
  await plain.close();
  scratch.remove();
}

const result: Record<string, Summary> = {};
for (const [name, v] of samples) result[name] = summary(v.slice(WARM_UP));
console.log(`sdk-and-note: ${calls} calls per mode, one every ${gapMs} ms; node ${process.versions.node} ${nodeFlags.length > 0 ? `with the executable's flags ${nodeFlags.join(' ')}` : "with Node's defaults"}`);
for (const [name, s] of Object.entries(result)) console.log(`  ${name.padEnd(11)} p50 ${s.p50} / p90 ${s.p90} / p99 ${s.p99} ms`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ benchmark: 'sdk-and-note', calls, gapMs, node: process.versions.node, nodeFlags, modes: result, measuredAt: new Date().toISOString() }, null, 2)}\n`);
