// The agent's logger (agent/log.ts): the lines it writes, per format and level.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TEXT_VALUE_MAX, createLogger, formatLine, safeJson } from '../../agent/log.ts';

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

describe('formatLine', () => {
  const ts = '2026-12-02T01:00:00.000Z';
  it.each([
    { format: 'json' as const, fields: { component: 'reconciler', port: 32768 }, expected: `{"component":"reconciler","port":32768,"level":"info","message":"registered","timestamp":"${ts}"}` },
    { format: 'json' as const, fields: {}, expected: `{"level":"info","message":"registered","timestamp":"${ts}"}` },
    { format: 'text' as const, fields: { component: 'reconciler', targets: ['a', 'b'] }, expected: `${ts} INFO registered component=reconciler targets=["a","b"]` },
    { format: 'text' as const, fields: {}, expected: `${ts} INFO registered` },
  ])('$format with $fields', ({ format, fields, expected }) => {
    expect(formatLine(format, 'info', 'registered', fields, ts)).toBe(expected);
  });

  it.each([
    ['an ANSI escape in a label value', { label: 'web\u001b[2J\u001b[31mOWNED' }, 'label="web\\u001b[2J\\u001b[31mOWNED"'],
    ['a newline that would forge a second line', { tag: 'a\n2026-12-02T01:00:00.000Z ERROR forged' }, 'tag="a\\n2026-12-02T01:00:00.000Z ERROR forged"'],
    ['a bidirectional override', { name: 'abc\u202edcba' }, 'name="abc\\u202edcba"'],
    ['a space', { family: 'two words' }, 'family="two words"'],
    ['a plain value as it is', { family: 'web-1' }, 'family=web-1'],
  ])('text: %s is escaped and quoted', (_case, fields, expected) => {
    const line = formatLine('text', 'warn', 'skipped', fields, ts);
    expect(line).toBe(`${ts} WARN skipped ${expected}`);
    // eslint-disable-next-line no-control-regex
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  });

  it('text: a long value is cut at about 200 characters, its length said', () => {
    const line = formatLine('text', 'info', 'x', { label: 'a'.repeat(70_000) }, ts);
    expect(line).toBe(`${ts} INFO x label="${'a'.repeat(TEXT_VALUE_MAX)}…(70000 characters)"`);
  });

  it('text: control characters in the message are escaped too', () => {
    expect(formatLine('text', 'info', 'container \u001b]0;title\u0007 skipped', {}, ts)).toBe(`${ts} INFO container \\u001b]0;title\\u0007 skipped`);
  });

  it('a field named level or message cannot overwrite the line\'s own', () => {
    expect(JSON.parse(formatLine('json', 'warn', 'real', { level: 'x', message: 'y' }, ts))).toMatchObject({ level: 'warn', message: 'real' });
  });
});

describe('safeJson', () => {
  it.each([
    { name: 'an Error as name and message', value: { error: new TypeError('boom') }, expected: '{"error":{"name":"TypeError","message":"boom"}}' },
    { name: 'a bigint as text', value: { n: 12n }, expected: '{"n":"12"}' },
  ])('writes $name', ({ value, expected }) => {
    expect(safeJson(value)).toBe(expected);
  });

  it('cuts a cycle instead of throwing', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(safeJson({ a })).toBe('{"a":{"name":"a","self":"[Circular]"}}');
  });
});

describe('createLogger', () => {
  it.each([
    { level: 'error' as const, written: ['error'] },
    { level: 'warn' as const, written: ['error', 'warn'] },
    { level: 'info' as const, written: ['error', 'warn', 'info'] },
    { level: 'debug' as const, written: ['error', 'warn', 'info', 'debug'] },
  ])('at level $level writes $written', ({ level, written }) => {
    const { stream, lines } = capture();
    const log = createLogger({ format: 'json', level, stream });
    log.error('e');
    log.warn('w');
    log.info('i');
    log.debug('d');
    expect(lines.map((l) => (JSON.parse(l) as { level: string }).level)).toEqual(written);
  });

  it('a child adds its fields to every line, the call\'s own fields win', () => {
    const { stream, lines } = capture();
    const log = createLogger({ format: 'json', level: 'info', stream }).child({ component: 'docker', host: 'h1' }).child({ host: 'h2' });
    log.info('listed', { containers: 3, host: 'h3' });
    log.info('idle');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { component: 'docker', host: 'h3', containers: 3, message: 'listed' },
      { component: 'docker', host: 'h2', message: 'idle' },
    ]);
    expect(Date.parse((JSON.parse(lines[0] as string) as { timestamp: string }).timestamp)).not.toBeNaN();
  });
});
