// Property tests (fast-check, seeded) of everything that reads input a person or another
// program wrote: container labels, options, the command line, the config file, the mapping
// file and the state file. Whatever the input, they either answer or throw the project's
// typed ConfigError naming the thing; nothing else escapes, and what they accept is valid.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../agent/cli.ts';
import { buildConfig } from '../../agent/config.ts';
import { readConfigLines } from '../../agent/config-file.ts';
import { isTargetGroupArn } from '../../agent/core/arn.ts';
import { parseIpv4 } from '../../agent/core/ipv4.ts';
import { ConfigError } from '../../agent/errors.ts';
import { computeDesired } from '../../agent/mapping/desired.ts';
import { CONTAINER_PORT_LABEL, READINESS_GATE_LABEL, TARGET_GROUP_ARN_LABEL, TARGETS_LABEL, parseReadinessGate, parseTargetLabels } from '../../agent/mapping/labels.ts';
import { parseMappingRules } from '../../agent/mapping/mapping-file.ts';
import { parseStateText, recordProblem } from '../../agent/state/state-file.ts';
import { GROUPS, PORTS, agentLabels, containerSnapshot, labelSet, taskContainer, mappingJson, rawOptions, runs } from '../support/arbitraries.ts';

/** Runs `fn`; a throw passes only when it is a ConfigError (the typed error the entry point turns into exit 78). */
function onlyConfigErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`threw ${err instanceof Error ? err.name : typeof err}, not a ConfigError: ${String(err)}`);
    expect(err.message.length).toBeGreaterThan(10);
  }
}

/** Fewest cases a property must have checked (its generators are seeded: the counts are fixed). */
const MIN_CHECKED = 50;

const validPort = (p: number | undefined) => p === undefined || (Number.isInteger(p) && p >= 1 && p <= 65535);

describe('labels', () => {
  it('any label set gives requests for valid ARNs and ports, and problems naming a label; never a throw', () => {
    const sources = new Set([TARGET_GROUP_ARN_LABEL, CONTAINER_PORT_LABEL, TARGETS_LABEL]);
    const seen = { requests: 0, problems: 0 };
    fc.assert(
      fc.property(fc.oneof(labelSet, agentLabels), (labels) => {
        const { requests, problems } = parseTargetLabels(labels);
        seen.requests += requests.length;
        seen.problems += problems.length;
        for (const r of requests) {
          expect(isTargetGroupArn(r.targetGroupArn)).toBe(true);
          expect(validPort(r.containerPort)).toBe(true);
          expect(sources.has(r.source)).toBe(true);
        }
        for (const p of problems) expect(sources.has(p.source)).toBe(true);
        // Nothing asked for, nothing wrong: a container without the agent's labels is simply not in play.
        if (![...sources].some((s) => s in labels)) expect({ requests, problems }).toEqual({ requests: [], problems: [] });
        const gate = parseReadinessGate(labels);
        expect('gated' in gate || gate.problem.source === READINESS_GATE_LABEL).toBe(true);
      }),
      runs(1000),
    );
    // Both outcomes were generated (a generator that made only one would check half the claim).
    expect(seen.requests).toBeGreaterThanOrEqual(MIN_CHECKED);
    expect(seen.problems).toBeGreaterThanOrEqual(MIN_CHECKED);
  });

  it('any containers, rules and allowed groups give endpoints only in allowed groups, on published ports of running containers', () => {
    const checked = { endpoints: 0, allowListed: 0 };
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ arbitrary: containerSnapshot, weight: 1 }, { arbitrary: taskContainer, weight: 2 }), { maxLength: 5 }),
        fc.array(fc.record({ family: fc.constantFrom('web', 'x'), containerName: fc.constantFrom('app', 'y'), targetGroupArn: fc.constantFrom(...GROUPS), containerPort: fc.constantFrom(80, 8080) }, { requiredKeys: ['family', 'containerName', 'targetGroupArn'] }), { maxLength: 3 }),
        fc.option(fc.subarray([...GROUPS])),
        fc.boolean(),
        fc.option(fc.constantFrom('10.8.0.10', '10.8.0.6')),
        (containers, rules, allowed, includeNonEcs, hostAddress) => {
          const { endpoints } = computeDesired({
            containers, rules, includeNonEcs,
            ...(allowed !== null ? { allowedTargetGroups: new Set(allowed) } : {}),
            ...(hostAddress !== null ? { hostAddress } : {}),
          });
          checked.endpoints += endpoints.length;
          if (allowed !== null) checked.allowListed += endpoints.length;
          for (const e of endpoints) {
            if (allowed !== null) expect(allowed).toContain(e.targetGroupArn);
            expect(validPort(e.port)).toBe(true);
            const c = containers.find((x) => x.id === e.containerId);
            expect(c?.running).toBe(true);
            expect(c?.stopping).toBe(false);
          }
        },
      ),
      runs(500),
    );
    // Endpoints were produced, some under an allow list (none would pass vacuously).
    expect(checked.endpoints).toBeGreaterThanOrEqual(MIN_CHECKED);
    expect(checked.allowListed).toBeGreaterThanOrEqual(MIN_CHECKED);
  });
});

describe('configuration', () => {
  it('any raw options build a configuration or throw a ConfigError naming the option', () => {
    fc.assert(
      fc.property(rawOptions, (raw) => {
        let config;
        try {
          config = buildConfig(raw);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          expect(err.message).toMatch(/^invalid (--[a-z-]+ \(ECS_ANYWHERE_LB_[A-Z_]+\)|[a-z-]+): /);
          return;
        }
        // What is accepted is usable: absolute paths, allowed groups that are ARNs, positive intervals.
        expect(config.stateDir.startsWith('/')).toBe(true);
        for (const arn of config.allowedTargetGroups) expect(isTargetGroupArn(arn)).toBe(true);
        expect(config.allowedTargetGroups.length > 0 || config.allowAnyTargetGroup).toBe(true);
        expect(config.reconcileIntervalMs).toBeGreaterThanOrEqual(1000);
        if (config.hostIp !== undefined) expect(parseIpv4(config.hostIp)).toBeDefined();
      }),
      runs(1000),
    );
  });

  it('any command line parses or throws a ConfigError', () => {
    const word = fc.oneof(fc.constantFrom('run', 'status', 'check', 'deregister', 'config', 'set', 'get', 'validate', '--all', '--json', '--help', '--version', '--state-dir', '--state-dir=/x', '--dry-run', '--dry-run=1', '--on-exit', 'keep', '--', '-x', '--config', '--unset'), fc.string({ maxLength: 10 }));
    fc.assert(fc.property(fc.array(word, { maxLength: 6 }), (argv) => onlyConfigErrors(() => parseCommandLine(argv))), runs(1000));
  });

  it('any config file text reads or throws a ConfigError naming the line', () => {
    const line = fc.oneof(fc.constantFrom('# comment', '', 'ECS_ANYWHERE_LB_ON_EXIT=keep', 'export ECS_ANYWHERE_LB_FLEET_SIZE="10"', "A='b'", 'A="unterminated', 'no equals', '=x', ' KEY = v '), fc.string({ maxLength: 20 }));
    fc.assert(fc.property(fc.array(line, { maxLength: 6 }), (lines) => onlyConfigErrors(() => readConfigLines(lines.join('\n'), '/etc/a.env'))), runs(1000));
  });

  it('any JSON is a mapping file of valid rules or a ConfigError naming the entry', () => {
    fc.assert(
      fc.property(mappingJson, (json) => {
        let rules;
        try {
          rules = parseMappingRules(json, '/etc/m.json');
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          expect(err.message).toContain('/etc/m.json: ');
          return;
        }
        for (const r of rules) {
          expect(isTargetGroupArn(r.targetGroupArn)).toBe(true);
          expect(validPort(r.containerPort)).toBe(true);
          expect(r.family.length > 0 && r.containerName.length > 0).toBe(true);
        }
      }),
      runs(1000),
    );
  });
});

describe('state file', () => {
  const record = fc.record({ targetGroupArn: fc.constantFrom(...GROUPS), id: fc.constantFrom('10.8.0.10', '10.8.0.6'), port: fc.constantFrom(...PORTS), containerName: fc.string({ maxLength: 8 }) });
  const state = fc.record({ version: fc.constant(1), addresses: fc.subarray(['10.8.0.10', '10.8.0.6']), targets: fc.uniqueArray(record, { selector: (t) => `${t.targetGroupArn}|${t.id}|${t.port}`, maxLength: 5 }) });

  it('any text is a state of valid records, or a problem with only whole records salvaged; never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.jsonValue().map((v) => JSON.stringify(v)), state.map((s) => JSON.stringify(s))), (text) => {
        const out = parseStateText(text);
        for (const t of out.ok ? out.state.targets : out.salvaged) expect(recordProblem(t)).toBeUndefined();
      }),
      runs(1000),
    );
  });

  it('a saved state cut anywhere (a power loss) salvages only records it held, and all of those before the cut', () => {
    fc.assert(
      fc.property(state, fc.double({ min: 0, max: 1, noNaN: true }), (s, where) => {
        const file = `${JSON.stringify(s, null, 2)}\n`;
        const cut = file.slice(0, Math.floor(file.length * where));
        const out = parseStateText(cut);
        if (out.ok) {
          // Only the trailing newline was lost.
          expect(out.state).toEqual(s);
          return;
        }
        const held = new Set(s.targets.map((t) => JSON.stringify(t)));
        for (const t of out.salvaged) expect(held.has(JSON.stringify(t))).toBe(true);
        const whole = s.targets.filter((t) => cut.includes(JSON.stringify(t, null, 2).replace(/\n/g, '\n    ')));
        expect(out.salvaged.length).toBeGreaterThanOrEqual(whole.length);
      }),
      runs(500),
    );
  });
});
