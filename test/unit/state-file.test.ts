// What a state file's text is taken for: a state (tolerant of fields it does not know), or
// why not and which records can still be read from it (a file cut short by a power loss
// keeps the records before the cut; garbage keeps none). Tables of text -> outcome.
import { describe, expect, it } from 'vitest';
import { asideName, isTransientReadError, parseStateText, recordProblem, salvageRecords } from '../../agent/state/state-file.ts';
import type { AgentState } from '../../agent/core/state.ts';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const A = { targetGroupArn: ARN, id: '10.8.0.10', port: 32768, containerName: 'ecs-web-1-app' };
const B = { targetGroupArn: ARN, id: '10.8.0.10', port: 32769 };
const C = { targetGroupArn: ARN, id: '10.8.0.5', port: 31000, taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/c/1' };
const STATE: AgentState = { version: 1, addresses: ['10.8.0.5', '10.8.0.10'], targets: [A, B, C] };
const FILE = `${JSON.stringify(STATE, null, 2)}\n`;
/** The file cut just after the n-th record's closing brace (plus a few bytes of the next). */
const cutAfter = (n: number) => {
  let at = -1;
  for (let i = 0; i < n; i++) at = FILE.indexOf('}', at + 1);
  return FILE.slice(0, at + 8);
};

describe('parseStateText', () => {
  it.each<[string, string, AgentState]>([
    ['a saved state', FILE, STATE],
    ['missing lists', '{"version":1}', { version: 1, addresses: [], targets: [] }],
    ['fields it does not know, kept', JSON.stringify({ ...STATE, vpn: { registered: true }, targets: [{ ...A, note: 'x' }] }), { ...STATE, vpn: { registered: true }, targets: [{ ...A, note: 'x' }] } as unknown as AgentState],
  ])('reads %s', (_case, text, state) => {
    expect(parseStateText(text)).toStrictEqual({ ok: true, state });
  });

  it.each<[string, string, string, number]>([
    ['an empty file', '', 'is empty', 0],
    ['blanks only', ' \n\n', 'is empty', 0],
    ['cut inside the header', FILE.slice(0, 30), 'is cut short (30 bytes, as after a power loss mid-write)', 0],
    ['cut inside the first record', FILE.slice(0, FILE.indexOf('32768')), 'is cut short', 0],
    ['cut after one record', cutAfter(1), 'is cut short', 1],
    ['cut after two records', cutAfter(2), 'is cut short', 2],
    ['cut inside a string', FILE.slice(0, FILE.indexOf('ecs-web') + 3), 'is cut short', 0],
    ['garbage', '\u0000\u0000\u0000\u00ff{{{', 'is not valid JSON', 0],
    ['garbage after a whole file', `${FILE}\u0000\u0000`, 'is not valid JSON', 3],
    ['JSON null', 'null', 'is not a JSON object', 0],
    ['a JSON array of records', JSON.stringify([A, B]), 'is not a JSON object', 2],
    ['a JSON string', '"state"', 'is not a JSON object', 0],
    ['a newer version', JSON.stringify({ ...STATE, version: 2 }), 'has version 2, this agent reads 1', 3],
    ['version as text', JSON.stringify({ ...STATE, version: '1' }), 'has version "1", this agent reads 1', 3],
    ['no version', JSON.stringify({ addresses: [], targets: [A] }), 'has version undefined, this agent reads 1', 1],
    ['addresses not a list', JSON.stringify({ ...STATE, addresses: '10.8.0.10' }), 'has an "addresses" that is not a list of IPv4 addresses', 3],
    ['an address that is none', JSON.stringify({ ...STATE, addresses: ['10.8.0.300'] }), 'has an "addresses" that is not a list of IPv4 addresses', 3],
    ['targets not a list', JSON.stringify({ ...STATE, targets: { A } }), 'has a "targets" that is not a list', 1],
    ['a record with a bad port', JSON.stringify({ ...STATE, targets: [A, { ...B, port: 70000 }] }), 'has targets[1] whose port 70000 is not a port number', 1],
    ['a record with a port as text', JSON.stringify({ ...STATE, targets: [{ ...B, port: '32769' }, A] }), 'has targets[0] whose port "32769" is not a port number', 1],
    ['a record with a bad ARN', JSON.stringify({ ...STATE, targets: [{ ...A, targetGroupArn: 'tg-web' }] }), 'has targets[0] whose targetGroupArn "tg-web" is not a target group ARN', 0],
    ['a record with a flipped address', JSON.stringify({ ...STATE, targets: [{ ...A, id: '10.8.0.1O' }] }), 'has targets[0] whose id "10.8.0.1O" is not an IPv4 address', 0],
    ['a record that is no object', JSON.stringify({ ...STATE, targets: [A, 7] }), 'has targets[1] whose value is not an object', 1],
    ['a record with a name that is no text', JSON.stringify({ ...STATE, targets: [{ ...A, containerName: 5 }] }), 'has targets[0] whose containerName is not text', 0],
  ])('refuses %s, saying why and how many records are still readable', (_case, text, problem, salvaged) => {
    const out = parseStateText(text);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.problem.startsWith(problem)).toBe(true);
    expect(out.salvaged).toHaveLength(salvaged);
  });
});

describe('salvageRecords', () => {
  it('keeps the whole records before a cut, each once, exactly as written', () => {
    expect(salvageRecords(cutAfter(2))).toStrictEqual([A, B]);
    expect(salvageRecords(`${JSON.stringify(A)} ${JSON.stringify(A)}`)).toStrictEqual([A]);
  });

  it('ignores braces inside strings', () => {
    const tricky = { ...A, containerName: 'a}b{"c' };
    expect(salvageRecords(`{"targets":[${JSON.stringify(tricky)},{"targetGroupArn":"${ARN}","id":"10.8`)).toStrictEqual([tricky]);
  });

  it('reads no record out of a brace that never closes, fast even in a large damaged file', () => {
    const started = performance.now();
    expect(salvageRecords('{'.repeat(200_000))).toEqual([]);
    // A figure, not a limit: printed so a slow scan shows up in the log.
    console.log(`salvage of 200,000 unclosed braces: ${Math.round(performance.now() - started)} ms`);
  });
});

describe('recordProblem', () => {
  it.each<[unknown, string | undefined]>([
    [A, undefined],
    [{ ...A, availabilityZone: 'all' }, undefined],
    [{ ...A, port: 0 }, 'port 0 is not a port number'],
    [{ ...A, port: 1.5 }, 'port 1.5 is not a port number'],
    [{ ...A, id: undefined }, 'id undefined is not an IPv4 address'],
    [null, 'is not an object'],
    [[A], 'is not an object'],
  ])('%j: %s', (record, problem) => {
    expect(recordProblem(record)).toBe(problem);
  });
});

describe('isTransientReadError', () => {
  it.each<[string | undefined, boolean]>([
    ['EMFILE', true],
    ['ENFILE', true],
    ['ENOMEM', true],
    ['EACCES', false],
    ['EISDIR', false],
    ['EIO', false],
    ['ENOTDIR', false],
    [undefined, false],
  ])('%s: %s', (code, transient) => {
    expect(isTransientReadError(code)).toBe(transient);
  });
});

describe('asideName', () => {
  it('puts the UTC time in the name, without characters a shell or another file system minds', () => {
    expect(asideName('/var/lib/a/state.json', new Date('2026-12-02T01:02:03.456Z'))).toBe('/var/lib/a/state.json.corrupt-2026-12-02T01-02-03Z');
  });
});
