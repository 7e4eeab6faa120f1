// The readiness gate's decisions as tables: who is asking, and whether its targets are all
// healthy; answers speak only of the caller.
import { describe, expect, it } from 'vitest';
import type { ContainerSnapshot } from '../../agent/core/container.ts';
import type { ActualTarget } from '../../agent/core/target-registry.ts';
import type { DesiredEndpoint } from '../../agent/mapping/desired.ts';
import { gateVerdict, identifyCaller } from '../../agent/reconcile/readiness.ts';

const WEB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const API = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const HOST = '10.8.0.10';

const c = (id: string, over: Partial<ContainerSnapshot> = {}): ContainerSnapshot => ({
  id, name: `ecs-${id}`, labels: {}, running: true, stopping: false, health: 'starting', networkMode: 'bridge', ports: [], exposedPorts: [], ...over,
});
const bridgeA = c('a', { ipAddresses: ['172.17.0.2'] });
const bridgeB = c('b', { ipAddresses: ['172.17.0.3'] });
const hostNet = c('h', { networkMode: 'host', metadataId: 'a1b2c3d4-1234-5678' });
const gone = c('g', { ipAddresses: ['172.17.0.9'], running: false });

describe('identifyCaller', () => {
  it.each<[string, { sourceAddress: string; id?: string }, string | undefined]>([
    ['a bridge container by its address', { sourceAddress: '172.17.0.2' }, 'a'],
    ['an IPv4-mapped IPv6 source', { sourceAddress: '::ffff:172.17.0.3' }, 'b'],
    ['a bridge container cannot pose as another with ?id', { sourceAddress: '172.17.0.2', id: 'a1b2c3d4-1234-5678' }, 'a'],
    ['a host-network container by its metadata id', { sourceAddress: '172.17.0.1', id: 'a1b2c3d4-1234-5678' }, 'h'],
    ['a wrong id: nobody', { sourceAddress: '172.17.0.1', id: 'nope-nope-nope' }, undefined],
    ['the host without an id: nobody', { sourceAddress: '172.17.0.1' }, undefined],
    ['a stopped container\'s old address: nobody', { sourceAddress: '172.17.0.9' }, undefined],
  ])('%s', (_name, q, expected) => {
    expect(identifyCaller([bridgeA, bridgeB, hostNet, gone], q)?.id).toBe(expected);
  });
});

describe('gateVerdict', () => {
  const ep = (arn: string, port: number): DesiredEndpoint => ({ targetGroupArn: arn, port, containerId: 'a', containerName: 'ecs-a', gated: true });
  const views = (web: ActualTarget[], api: ActualTarget[] = []) => (arn: string) => (arn === WEB ? web : arn === API ? api : []);
  const t = (port: number, state: string, reason?: string): ActualTarget => ({ id: HOST, port, state, ...(reason ? { reason } : {}) });

  it.each<[string, Parameters<typeof gateVerdict>[0], boolean, string | RegExp]>([
    ['unknown caller', { container: undefined, endpoints: [], view: views([]), address: HOST, latched: false }, false, /^unknown caller/],
    ['stopping beats the latch', { container: c('a', { stopping: true }), endpoints: [ep(WEB, 1)], view: views([t(1, 'healthy')]), address: HOST, latched: true }, false, 'stopping'],
    ['latched: ready whatever the group says now (LB or VPN blip)', { container: c('a'), endpoints: [ep(WEB, 1)], view: views([t(1, 'unhealthy')]), address: undefined, latched: true }, true, 'ready'],
    ['no endpoint', { container: c('a'), endpoints: [], view: views([]), address: HOST, latched: false }, false, /^no target/],
    ['no address', { container: c('a'), endpoints: [ep(WEB, 1)], view: views([]), address: undefined, latched: false }, false, /no usable address/],
    ['not registered yet', { container: c('a'), endpoints: [ep(WEB, 1)], view: views([]), address: HOST, latched: false }, false, `tg/web ${HOST}:1 is not registered yet`],
    ['initial', { container: c('a'), endpoints: [ep(WEB, 1)], view: views([t(1, 'initial', 'Elb.RegistrationInProgress')]), address: HOST, latched: false }, false, `tg/web ${HOST}:1 is initial (Elb.RegistrationInProgress)`],
    ['healthy in one group, not yet in the other', { container: c('a'), endpoints: [ep(WEB, 1), ep(API, 2)], view: views([t(1, 'healthy')], [t(2, 'initial')]), address: HOST, latched: false }, false, `tg/api ${HOST}:2 is initial`],
    ['healthy everywhere', { container: c('a'), endpoints: [ep(WEB, 1), ep(API, 2)], view: views([t(1, 'healthy')], [t(2, 'healthy')]), address: HOST, latched: false }, true, 'ready'],
    ['another host\'s healthy target on the same port does not count', { container: c('a'), endpoints: [ep(WEB, 1)], view: views([{ id: '10.8.0.99', port: 1, state: 'healthy' }]), address: HOST, latched: false }, false, /not registered yet/],
  ])('%s', (_name, input, ready, reason) => {
    const out = gateVerdict(input);
    expect(out.ready).toBe(ready);
    if (reason instanceof RegExp) expect(out.reason).toMatch(reason);
    else expect(out.reason).toBe(reason);
    // One line, about the caller only.
    expect(out.reason).not.toMatch(/\n/);
    expect(out.reason).not.toMatch(/10\.8\.0\.99|ecs-b/);
  });
});
