import { describe, expect, it } from 'vitest';
import { parsePort, parseReadinessGate, parseTargetLabels } from '../../agent/mapping/labels.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const TG2 = 'arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:targetgroup/api/fedcba9876543210';

// Every kind of malformed label: the request is dropped and the problem names the label.
const malformed: [string, Record<string, string>, string, RegExp][] = [
  ['ARN not an ARN', { 'ecs-anywhere-lb.target-group-arn': 'web' }, 'ecs-anywhere-lb.target-group-arn', /"web" is not a target group ARN/],
  ['ARN of a load balancer', { 'ecs-anywhere-lb.target-group-arn': 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0123456789abcdef' }, 'ecs-anywhere-lb.target-group-arn', /not a target group ARN/],
  ['port not a number', { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.container-port': 'http' }, 'ecs-anywhere-lb.container-port', /"http" is not a port number/],
  ['port out of range', { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.container-port': '70000' }, 'ecs-anywhere-lb.container-port', /not a port number/],
  ['port zero', { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.container-port': '0' }, 'ecs-anywhere-lb.container-port', /not a port number/],
  ['port without ARN', { 'ecs-anywhere-lb.container-port': '8080' }, 'ecs-anywhere-lb.container-port', /without ecs-anywhere-lb.target-group-arn/],
  ['targets empty', { 'ecs-anywhere-lb.targets': ' , ' }, 'ecs-anywhere-lb.targets', /is empty/],
  ['targets bad port', { 'ecs-anywhere-lb.targets': `${TG}@eighty` }, 'ecs-anywhere-lb.targets', /"eighty" is not a port number/],
  ['targets bad ARN', { 'ecs-anywhere-lb.targets': 'nope@80' }, 'ecs-anywhere-lb.targets', /"nope" is not a target group ARN/],
];

describe('parseTargetLabels', () => {
  it('reads the ARN label alone and with a container port', () => {
    expect(parseTargetLabels({ 'ecs-anywhere-lb.target-group-arn': TG })).toEqual({ requests: [{ targetGroupArn: TG, source: 'ecs-anywhere-lb.target-group-arn' }], problems: [] });
    expect(parseTargetLabels({ 'ecs-anywhere-lb.target-group-arn': ` ${TG} `, 'ecs-anywhere-lb.container-port': '8080' }).requests).toEqual([
      { targetGroupArn: TG, containerPort: 8080, source: 'ecs-anywhere-lb.target-group-arn' },
    ]);
  });

  it('reads the targets label with several groups and ports, and other partitions', () => {
    expect(parseTargetLabels({ 'ecs-anywhere-lb.targets': `${TG}@8080, ${TG2}@9090,${TG}` }).requests).toEqual([
      { targetGroupArn: TG, containerPort: 8080, source: 'ecs-anywhere-lb.targets' },
      { targetGroupArn: TG2, containerPort: 9090, source: 'ecs-anywhere-lb.targets' },
      { targetGroupArn: TG, source: 'ecs-anywhere-lb.targets' },
    ]);
  });

  it('ignores containers without our labels', () => {
    expect(parseTargetLabels({ 'com.amazonaws.ecs.cluster': 'default' })).toEqual({ requests: [], problems: [] });
  });

  for (const [name, labels, source, message] of malformed) {
    it(`malformed: ${name}`, () => {
      const r = parseTargetLabels(labels);
      expect(r.requests).toEqual([]);
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]?.source).toBe(source);
      expect(r.problems[0]?.message).toMatch(message);
    });
  }

  it('a bad entry in the targets label does not drop the good ones', () => {
    const r = parseTargetLabels({ 'ecs-anywhere-lb.targets': `${TG}@8080,garbage` });
    expect(r.requests).toEqual([{ targetGroupArn: TG, containerPort: 8080, source: 'ecs-anywhere-lb.targets' }]);
    expect(r.problems).toHaveLength(1);
  });
});

describe('parsePort', () => {
  it.each([['1', 1], ['65535', 65535], [' 80 ', 80], ['0', undefined], ['65536', undefined], ['8o', undefined], ['', undefined], ['-1', undefined]])('%j -> %j', (text, port) => {
    expect(parsePort(text)).toBe(port);
  });
});

describe('parseReadinessGate', () => {
  it.each<[string, Record<string, string>, boolean | RegExp]>([
    ['absent', {}, false],
    ['true', { 'ecs-anywhere-lb.readiness-gate': 'true' }, true],
    ['TRUE with spaces', { 'ecs-anywhere-lb.readiness-gate': ' TRUE ' }, true],
    ['false', { 'ecs-anywhere-lb.readiness-gate': 'false' }, false],
    ['yes is not a value', { 'ecs-anywhere-lb.readiness-gate': 'yes' }, /"yes" is neither true nor false/],
    ['empty', { 'ecs-anywhere-lb.readiness-gate': '' }, /"" is neither true nor false/],
  ])('%s', (_name, labels, expected) => {
    const out = parseReadinessGate(labels);
    if (expected instanceof RegExp) {
      expect('problem' in out && out.problem.source).toBe('ecs-anywhere-lb.readiness-gate');
      expect('problem' in out && out.problem.message).toMatch(expected);
    } else {
      expect(out).toEqual({ gated: expected });
    }
  });
});
