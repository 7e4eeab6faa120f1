// Fault decisions of the local ELBv2 endpoint, with a scripted random source.
import { describe, expect, it } from 'vitest';
import { FaultInjector } from '../support/local-elbv2/fault-injector.ts';

describe('FaultInjector', () => {
  it('injects nothing by default', () => {
    expect(new FaultInjector(() => 0).decide('RegisterTargets')).toEqual({ latencyMs: 0, outcome: 'none' });
  });

  it('treats true as probability 1 and applies faults in a fixed precedence', () => {
    const faults = new FaultInjector(() => 0.99);
    faults.set({ internalError: true, throttle: true, latencyMs: 50 });
    expect(faults.decide('X')).toEqual({ latencyMs: 50, outcome: 'internalError' });
    faults.set({ responseLost: true });
    expect(faults.decide('X').outcome).toBe('responseLost');
    faults.set({ dropConnection: true });
    expect(faults.decide('X').outcome).toBe('drop');
  });

  it('rolls the dice for fractional probabilities', () => {
    const rolls = [0.1, 0.9];
    const faults = new FaultInjector(() => rolls.shift() ?? 1);
    faults.set({ serviceUnavailable: 0.5 });
    expect(faults.decide('X').outcome).toBe('serviceUnavailable');
    expect(faults.decide('X').outcome).toBe('none');
  });

  it('switches itself off after `times` hit requests, and honours the action filter', () => {
    const faults = new FaultInjector();
    faults.set({ throttle: 1, times: 2, actions: ['RegisterTargets'] });
    expect(faults.decide('DescribeTargetHealth').outcome).toBe('none');
    expect(faults.decide('RegisterTargets').outcome).toBe('throttle');
    expect(faults.decide('RegisterTargets').outcome).toBe('throttle');
    expect(faults.decide('RegisterTargets').outcome).toBe('none');
    expect(faults.current().times).toBe(0);
  });

  it('merges partial updates and clears everything', () => {
    const faults = new FaultInjector();
    faults.set({ latencyMs: 100 });
    faults.set({ internalError: 0.25 });
    expect(faults.current()).toMatchObject({ latencyMs: 100, internalError: 0.25 });
    faults.clear();
    expect(faults.current()).toMatchObject({ latencyMs: 0, internalError: 0 });
  });

  it('refuses out-of-range settings and keeps the previous ones', () => {
    const faults = new FaultInjector();
    expect(() => faults.set({ dropConnection: 2 })).toThrow(/probability/);
    expect(() => faults.set({ latencyMs: -1 })).toThrow(/latencyMs/);
    expect(() => faults.set({ times: 1.5 })).toThrow(/times/);
    expect(faults.current().dropConnection).toBe(0);
  });
});
