// Runs the local ELBv2 endpoint as a process, for demos, benchmarks and manual testing:
//
//   npm run local-elbv2 -- --port 4566 --target-group web:8080 --health-check-address 127.0.0.1 \
//     --listener web:8000 --propagation-delay 2000
//
// Prints one JSON line {url, region, targetGroups:[{name, arn}], listeners:[{targetGroup, url,
// port, propagationDelayMs}]} on stdout when ready, then
// serves until SIGTERM or SIGINT. Point the AWS SDK or CLI at it with
// AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=<url>.
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { LISTENER_DEFAULTS, LOCAL_ELBV2_DEFAULTS, startLocalElbv2 } from '../test/support/local-elbv2/index.ts';
import type { AccountThrottleSettings, LocalElbv2Options, ThrottleSettings } from '../test/support/local-elbv2/index.ts';

const USAGE = `Usage: npm run local-elbv2 -- [options]

  --port N                        listen port (default ${LOCAL_ELBV2_DEFAULTS.port}: a free port)
  --host H                        listen address (default ${LOCAL_ELBV2_DEFAULTS.host})
  --region R                      region in ARNs (default ${LOCAL_ELBV2_DEFAULTS.region})
  --account-id ID                 account in ARNs (default ${LOCAL_ELBV2_DEFAULTS.accountId})
  --vpc-cidr CIDR                 CIDR of the target groups' VPC (default ${LOCAL_ELBV2_DEFAULTS.vpcCidr})
  --target-group NAME[:PORT]      create an HTTP ip target group (repeatable; port default 80)
  --health-check-address IP       send health checks to IP with the target's port
  --listener GROUP:PORT           an HTTP listener forwarding to target group GROUP (from --target-group)
                                  with ALB routing; PORT 0 = a free port (repeatable)
  --propagation-delay MS          time from Register/DeregisterTargets to the listeners' routing change
                                  (default ${LISTENER_DEFAULTS.propagationDelayMs}; AWS takes seconds)
  --forward-address IP            listeners connect to IP with the target's port (default: --health-check-address)
  --source-address IP             health checks and listeners connect from IP (the load balancer's VPC address)
  --health-check-interval-ms N    health check interval for every group, in ms
  --deregistration-delay S        deregistration delay of new groups, in s (default ${LOCAL_ELBV2_DEFAULTS.deregistrationDelaySeconds})
  --max-targets N                 targets per group (default ${LOCAL_ELBV2_DEFAULTS.maxTargetsPerGroup})
  --throttle RATE:BURST           one token bucket for every action, e.g. 4:20 (default: off)
  --throttle-describe RATE:BURST  bucket for Describe* actions, e.g. 50:200 (default: off)
  --throttle-change RATE:BURST    bucket for RegisterTargets/DeregisterTargets, e.g. 4:20 (default: off)
                                  (buckets are shared by all callers; a request must pass each that applies)
  --request-log FILE              append every request as a JSON line to FILE
  --help                          show this help

Faults and throttling can be switched while it runs: PUT/GET/DELETE <url>/_local/faults
(e.g. {"serviceUnavailable": 0.5, "times": 20}) and PUT/DELETE <url>/_local/throttle
(e.g. {"change": {"ratePerSecond": 4, "burst": 20}}); see test/support/local-elbv2/README.md.
ECS answers on the same URL (AWS_ENDPOINT_URL_ECS); PUT <url>/_local/ecs/agent-connected
{"cluster": "edge", "containerInstance": "ID", "agentConnected": false} marks an instance's agent away.
`;

/** Thrown for bad command-line input: printed with the usage, exit code 2. */
class UsageError extends Error {}

interface CliConfig {
  readonly server: LocalElbv2Options;
  readonly targetGroups: ReadonlyArray<{ readonly name: string; readonly port: number }>;
  readonly listeners: ReadonlyArray<{ readonly targetGroup: string; readonly port: number }>;
  readonly propagationDelayMs?: number;
  readonly forwardAddress?: string;
  readonly requestLogFile?: string;
}

function parseCli(argv: readonly string[]): CliConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        region: { type: 'string' },
        'account-id': { type: 'string' },
        'vpc-cidr': { type: 'string' },
        'target-group': { type: 'string', multiple: true },
        'health-check-address': { type: 'string' },
        listener: { type: 'string', multiple: true },
        'propagation-delay': { type: 'string' },
        'forward-address': { type: 'string' },
        'source-address': { type: 'string' },
        'health-check-interval-ms': { type: 'string' },
        'deregistration-delay': { type: 'string' },
        'max-targets': { type: 'string' },
        throttle: { type: 'string' },
        'throttle-describe': { type: 'string' },
        'throttle-change': { type: 'string' },
        'request-log': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const int = (flag: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new UsageError(`--${flag} must be an integer between ${min} and ${max}, not '${text}'`);
    }
    return Number(text);
  };
  const targetGroups = (v['target-group'] ?? []).map((spec) => {
    const match = /^([A-Za-z0-9-]{1,32})(?::(\d+))?$/.exec(spec);
    if (!match) throw new UsageError(`--target-group must be NAME[:PORT], not '${spec}'`);
    return { name: match[1] ?? '', port: int('target-group port', match[2], 1, 65535) ?? 80 };
  });
  const listeners = (v.listener ?? []).map((spec) => {
    const match = /^([A-Za-z0-9-]{1,32}):(\d+)$/.exec(spec);
    if (!match) throw new UsageError(`--listener must be GROUP:PORT, not '${spec}'`);
    const targetGroup = match[1] ?? '';
    if (!targetGroups.some((group) => group.name === targetGroup)) {
      throw new UsageError(`--listener ${spec}: no --target-group named '${targetGroup}'`);
    }
    return { targetGroup, port: int('listener port', match[2], 0, 65535) ?? 0 };
  });
  const propagationDelayMs = int('propagation-delay', v['propagation-delay'], 0, 3_600_000);
  const rateBurst = (flag: string, text: string | undefined): ThrottleSettings | undefined => {
    if (text === undefined) return undefined;
    const match = /^(\d+(?:\.\d+)?):(\d+)$/.exec(text);
    if (!match || Number(match[2]) < 1) throw new UsageError(`--${flag} must be RATE:BURST (e.g. 4:20), not '${text}'`);
    return { ratePerSecond: Number(match[1]), burst: Number(match[2]) };
  };
  const throttle = rateBurst('throttle', v.throttle);
  const describeThrottle = rateBurst('throttle-describe', v['throttle-describe']);
  const changeThrottle = rateBurst('throttle-change', v['throttle-change']);
  const accountThrottle: AccountThrottleSettings | undefined =
    describeThrottle || changeThrottle
      ? { ...(describeThrottle ? { describe: describeThrottle } : {}), ...(changeThrottle ? { change: changeThrottle } : {}) }
      : undefined;
  const port = int('port', v.port, 0, 65535);
  const interval = int('health-check-interval-ms', v['health-check-interval-ms'], 1, 3_600_000);
  const delay = int('deregistration-delay', v['deregistration-delay'], 0, 3600);
  const maxTargets = int('max-targets', v['max-targets'], 1, 1_000_000);
  const server: LocalElbv2Options = {
    ...(port !== undefined ? { port } : {}),
    ...(v.host !== undefined ? { host: v.host } : {}),
    ...(v.region !== undefined ? { region: v.region } : {}),
    ...(v['account-id'] !== undefined ? { accountId: v['account-id'] } : {}),
    ...(v['vpc-cidr'] !== undefined ? { vpcCidr: v['vpc-cidr'] } : {}),
    ...(v['health-check-address'] !== undefined ? { healthCheckAddress: v['health-check-address'] } : {}),
    ...(v['source-address'] !== undefined ? { sourceAddress: v['source-address'] } : {}),
    ...(interval !== undefined ? { healthCheckIntervalMs: interval } : {}),
    ...(delay !== undefined ? { deregistrationDelaySeconds: delay } : {}),
    ...(maxTargets !== undefined ? { maxTargetsPerGroup: maxTargets } : {}),
    ...(throttle ? { throttle } : {}),
    ...(accountThrottle ? { accountThrottle } : {}),
  };
  return {
    server,
    targetGroups,
    listeners,
    ...(propagationDelayMs !== undefined ? { propagationDelayMs } : {}),
    ...(v['forward-address'] !== undefined ? { forwardAddress: v['forward-address'] } : {}),
    ...(v['request-log'] !== undefined ? { requestLogFile: v['request-log'] } : {}),
  };
}

async function main(): Promise<number> {
  let config: CliConfig | 'help';
  try {
    config = parseCli(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`local-elbv2: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }

  const elb = await startLocalElbv2(config.server);
  const logStream = config.requestLogFile ? createWriteStream(config.requestLogFile, { flags: 'a' }) : undefined;
  if (logStream) elb.onRequest((entry) => logStream.write(`${JSON.stringify(entry)}\n`));
  const targetGroups: Array<{ name: string; arn: string }> = [];
  const listeners: Array<{ targetGroup: string; url: string; port: number; propagationDelayMs: number }> = [];
  try {
    for (const group of config.targetGroups) {
      targetGroups.push({ name: group.name, arn: await elb.createTargetGroup({ name: group.name, port: group.port }) });
    }
    for (const spec of config.listeners) {
      const arn = targetGroups.find((group) => group.name === spec.targetGroup)?.arn ?? '';
      const listener = await elb.createListener({
        targetGroupArn: arn,
        port: spec.port,
        ...(config.server.host !== undefined ? { host: config.server.host } : {}),
        ...(config.propagationDelayMs !== undefined ? { propagationDelayMs: config.propagationDelayMs } : {}),
        ...(config.forwardAddress !== undefined ? { forwardAddress: config.forwardAddress } : {}),
      });
      listeners.push({ targetGroup: spec.targetGroup, url: listener.url, port: listener.port, propagationDelayMs: listener.propagationDelayMs });
    }
  } catch (error) {
    await elb.close();
    throw error;
  }
  process.stdout.write(`${JSON.stringify({ url: elb.url, region: elb.region, targetGroups, listeners })}\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.stderr.write(`local-elbv2: ${signal}, stopping\n`);
  await elb.close();
  if (logStream) await new Promise<void>((resolve) => logStream.end(() => resolve()));
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`local-elbv2: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
