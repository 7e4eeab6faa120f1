/**
 * A faithful local stand-in for the ELBv2 API (target groups, targets, health), for
 * integration tests and demos: point `@aws-sdk/client-elastic-load-balancing-v2` at `url`.
 */
export { startLocalElbv2, LOCAL_ELBV2_DEFAULTS } from './start-local-elbv2.ts';
export type { LocalElbv2, LocalElbv2Options, TargetGroupSpec } from './start-local-elbv2.ts';
export type { TargetInput, TargetSnapshot } from './elbv2-model.ts';
export type { TargetState } from './health-state.ts';
export type { FaultSettings, FaultUpdate } from './fault-injector.ts';
export type { RequestLogEntry, RequestLogTarget } from './request-log.ts';
export type { ThrottleSettings } from './token-bucket.ts';
export { apiClassOf } from './account-throttle.ts';
export type { AccountThrottleSettings, ApiClass, ThrottleCounts, ThrottleStats } from './account-throttle.ts';
export { ElbError } from './elb-error.ts';
export { LISTENER_DEFAULTS } from './load-balancer-listener.ts';
export type { ListenerOptions, ListenerStats, LoadBalancerListener, TargetTraffic } from './load-balancer-listener.ts';
export { eligibleTargets, pickTarget, DEFAULT_ROUTING_ALGORITHM } from './routing.ts';
export type { Eligible, RoutableTarget, RoutingAlgorithm } from './routing.ts';
export { EcsModel, EcsError } from './ecs-model.ts';
export type { EcsContainerInstance, EcsNetworkBinding, EcsTask, EcsTaskContainer, EcsTaskDefinition } from './ecs-model.ts';
export { createEcsListener, isEcsRequest } from './ecs-endpoint.ts';
