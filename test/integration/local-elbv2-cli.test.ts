// The local ELBv2 endpoint as a process (scripts/local-elbv2.ts, what `npm run local-elbv2`
// runs): ready line, target groups from flags, request log file, clean stop on SIGTERM.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestClient } from '../support/local-elbv2/test-client.ts';
import type { RequestLogEntry } from '../support/local-elbv2/index.ts';
import { waitFor } from '../support/wait.ts';

const TSX_CLI = join(process.cwd(), 'node_modules', 'tsx', 'dist', 'cli.mjs');
const SCRIPT = join(process.cwd(), 'scripts', 'local-elbv2.ts');
const workDir = mkdtempSync(join(tmpdir(), 'local-elbv2-cli-'));
const children: ChildProcessWithoutNullStreams[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(workDir, { recursive: true, force: true });
});

function run(args: string[]) {
  const child = spawn(process.execPath, [TSX_CLI, SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before the ready line; stderr: ${stderr}`)));
  });
  firstLine.catch(() => {}); // awaited only by tests that expect the server to start
  return { child, exited, firstLine, stderr: () => stderr };
}

describe('scripts/local-elbv2.ts', () => {
  it('prints a ready line, serves the SDK, logs requests as JSON lines and stops on SIGTERM', async () => {
    const logFile = join(workDir, 'requests.jsonl');
    const proc = run([
      '--port', '0',
      '--target-group', 'web:8080',
      '--target-group', 'api',
      '--health-check-address', '127.0.0.1',
      '--health-check-interval-ms', '50',
      '--deregistration-delay', '1',
      '--throttle', '100:100',
      '--request-log', logFile,
    ]);
    const ready = JSON.parse(await proc.firstLine) as { url: string; region: string; targetGroups: Array<{ name: string; arn: string }> };
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.targetGroups.map((g) => g.name)).toEqual(['web', 'api']);
    const web = ready.targetGroups[0]?.arn ?? '';

    const client = createTestClient({ url: ready.url, region: ready.region }, { maxAttempts: 1 });
    try {
      const groups = await client.send(new DescribeTargetGroupsCommand({}));
      expect(groups.TargetGroups?.map((g) => [g.TargetGroupName, g.Port]).sort()).toEqual([
        ['api', 80],
        ['web', 8080],
      ]);
      const attributes = await client.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: web }));
      expect(attributes.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value).toBe('1');
      await client.send(new RegisterTargetsCommand({ TargetGroupArn: web, Targets: [{ Id: '192.168.5.5', Port: 31000, AvailabilityZone: 'all' }] }));
      // Nothing listens on 127.0.0.1:31000, so the real checks fail quickly.
      await waitFor(
        async () => {
          const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: web }));
          return out.TargetHealthDescriptions?.[0]?.TargetHealth?.State === 'unhealthy';
        },
        { description: 'target unhealthy', timeoutMs: 5_000, intervalMs: 50 },
      );
    } finally {
      client.destroy();
    }

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.stderr()).toContain('SIGTERM, stopping');
    const entries = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RequestLogEntry);
    expect(entries.slice(0, 3).map((e) => e.action)).toEqual(['DescribeTargetGroups', 'DescribeTargetGroupAttributes', 'RegisterTargets']);
    expect(entries[2]).toMatchObject({ targetGroupArn: web, targets: [{ id: '192.168.5.5', port: 31000, az: 'all' }], status: 200 });
  });

  it('refuses bad flags with exit code 2 and the usage', async () => {
    const proc = run(['--throttle', 'fast']);
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toContain("--throttle must be RATE:BURST (e.g. 4:20), not 'fast'");
    expect(proc.stderr()).toContain('Usage: npm run local-elbv2');
  });
});
