// `npm run demo`: the whole story on one machine. Starts (or reuses) a Docker engine, a
// local ELBv2 endpoint with an `ip` target group, and the agent; starts three labelled
// ECS-like task containers; shows the group filling with healthy targets (host address +
// dynamic ports); stops one and shows it draining and leaving; cleans up what it started.
import { execFileSync } from 'node:child_process';
import { connectDocker, startDockerEngine } from '../test/support/docker-engine.ts';
import { ensureTestImage } from '../test/support/test-image.ts';
import { removeTestContainers, startEcsContainer, testRunId, type EcsContainer } from '../test/support/ecs-container.ts';
import { startLocalElbv2, type LocalElbv2 } from '../test/support/local-elbv2/index.ts';
import { AgentProcess, tempDir } from '../test/support/agent-process.ts';
import { waitFor, sleep } from '../test/support/wait.ts';

const HOST_IP = '10.8.0.10';
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => console.log(`\n${bold(`==> ${s}`)}`);

function table(elb: LocalElbv2, arn: string): string {
  const rows = elb.targets(arn).map((t) => `    ${`${t.id}:${t.port}`.padEnd(22)} ${t.state.padEnd(10)} ${t.availabilityZone ?? ''}`);
  return rows.length > 0 ? rows.join('\n') : '    (empty)';
}

async function watch(elb: LocalElbv2, arn: string, done: () => boolean, description: string, timeoutMs = 60_000): Promise<void> {
  let last = '';
  await waitFor(
    () => {
      const now = table(elb, arn);
      if (now !== last) {
        console.log(`  target group web:\n${now}`);
        last = now;
      }
      return done();
    },
    { description, timeoutMs, intervalMs: 250 },
  );
}

/** On a fresh Debian machine (as root), installs the Docker engine and busybox the demo runs on. */
function installMissingPackages(): void {
  if (process.getuid?.() !== 0) return;
  execFileSync('bash', ['scripts/install-ci-deps.sh'], {
    stdio: 'inherit',
    env: { ...process.env, CI_ONLY_APT_PACKAGES: 'docker.io busybox-static iptables iproute2' },
  });
}

async function main(): Promise<void> {
  const runId = testRunId();
  step('Packages (Debian docker.io and busybox-static, installed when missing)');
  installMissingPackages();
  step('Docker engine');
  const engine = await startDockerEngine();
  process.env.DOCKER_HOST = engine.dockerHost;
  console.log(`  ${engine.started ? 'started a private dockerd' : 'reusing the engine'} at ${engine.dockerHost}`);
  const docker = connectDocker(engine.dockerHost);
  const state = tempDir('ecslb-demo-state-');
  let elb: LocalElbv2 | undefined;
  let agent: AgentProcess | undefined;
  const containers: EcsContainer[] = [];
  try {
    await ensureTestImage(docker);

    step('Local ELBv2 endpoint (speaks the AWS query protocol; health checks probe 127.0.0.1:<port>)');
    elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', healthCheckIntervalMs: 500, deregistrationDelaySeconds: 3 });
    const arn = await elb.createTargetGroup({ name: 'web', port: 80, healthCheckPath: '/', healthyThresholdCount: 2 });
    console.log(`  ${elb.url}\n  target group ${arn} (target type ip, deregistration delay 3 s)`);

    step(`Agent (registers this host as ${HOST_IP}, outside the VPC, so AvailabilityZone=all)`);
    agent = new AgentProcess({
      args: ['run'],
      env: {
        AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elb.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDDEMO',
        AWS_SECRET_ACCESS_KEY: 'demo',
        ECS_ANYWHERE_LB_HOST_IP: HOST_IP,
        ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: arn,
        ECS_ANYWHERE_LB_STATE_DIR: state.path,
        ECS_ANYWHERE_LB_ON_EXIT: 'deregister',
        ECS_ANYWHERE_LB_DRAIN_TIMEOUT: '10s',
        ECS_ANYWHERE_LB_LOG_FORMAT: 'json',
      },
    });
    const ready = await agent.ready();
    console.log(`  agent ready: first reconcile after ${String(ready.uptimeMs)} ms`);

    step('Three ECS-like task containers with dockerLabels ecs-anywhere-lb.target-group-arn');
    for (let i = 1; i <= 3; i++) {
      const c = await startEcsContainer(docker, { runId, family: 'web', revision: 7, dockerLabels: { 'ecs-anywhere-lb.target-group-arn': arn } });
      containers.push(c);
      console.log(`  ${c.name}: container port 8080 -> host port ${c.hostPort()}`);
    }
    const ours = containers.map((c) => `${HOST_IP}:${c.hostPort()}`);
    await watch(elb, arn, () => ours.every((t) => elb!.targets(arn).some((x) => `${x.id}:${x.port}` === t && x.state === 'healthy')), 'three healthy targets');

    const victim = containers[1]!;
    step(`docker stop ${victim.name} (the agent deregisters at kill; the target drains, then leaves)`);
    await victim.stop(5);
    await watch(elb, arn, () => !elb!.targets(arn).some((x) => `${x.id}:${x.port}` === ours[1]), 'stopped target gone');

    step('What the agent logged');
    for (const l of agent.find((l) => l.event === 'registered' || l.event === 'deregistered')) {
      console.log(`  ${l.message}  container=${String(l.container)} reason=${String(l.reason)}`);
    }
    step('Stopping the agent with --on-exit deregister: remaining targets drain');
    await agent.stop('SIGTERM');
    console.log(table(elb, arn));
    await sleep(10);
  } finally {
    step('Cleaning up');
    await agent?.stop('SIGKILL');
    await Promise.all(containers.map((c) => c.remove().catch(() => undefined)));
    await removeTestContainers(docker, { runId }).catch(() => undefined);
    await elb?.close();
    state.remove();
    await engine.stop();
    console.log('  done: containers removed, endpoint closed, engine stopped if the demo started it');
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
