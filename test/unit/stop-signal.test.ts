import { describe, expect, it } from 'vitest';
import { sameSignal, signalNumber } from '../../agent/docker/stop-signals.ts';

describe('signalNumber / sameSignal', () => {
  it.each([
    ['15', 15], ['TERM', 15], ['SIGTERM', 15], ['sigquit', 3], ['QUIT', 3], ['SIGWINCH', 28], ['28', 28], ['', undefined], [undefined, undefined], ['SIGNOPE', undefined],
  ])('%j -> %j', (text, n) => {
    expect(signalNumber(text)).toBe(n);
  });

  it('matches a kill event number against a STOPSIGNAL name', () => {
    expect(sameSignal('SIGQUIT', '3')).toBe(true);
    expect(sameSignal('SIGWINCH', '28')).toBe(true);
    expect(sameSignal('SIGQUIT', '15')).toBe(false);
    expect(sameSignal(undefined, '15')).toBe(false);
    expect(sameSignal('', '')).toBe(false);
  });
});
