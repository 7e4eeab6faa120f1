/** Everything the composition root builds, handed to a command. */
import type Dockerode from 'dockerode';
import type { AgentConfig } from '../config.ts';
import type { DockerContainerSource } from '../docker/docker-source.ts';
import type { RotatingCredentials } from '../elb/credentials.ts';
import type { TargetRegistry } from '../core/target-registry.ts';
import type { AddressSource } from '../core/address.ts';
import type { Log } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Reconciler } from '../reconcile/reconciler.ts';
import type { StatePort } from '../core/state.ts';
import type { ApiPace } from '../fleet/api-pace.ts';
import type { MappingFileRules } from '../mapping/mapping-file.ts';
import type { Tracer } from '../trace.ts';

export interface Parts {
  readonly config: AgentConfig;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly docker: Dockerode;
  readonly containers: DockerContainerSource;
  readonly credentials: RotatingCredentials;
  readonly registry: TargetRegistry;
  readonly pace: ApiPace;
  readonly addresses: AddressSource;
  readonly store: StatePort;
  readonly reconciler: Reconciler;
  /** Marks the event path's steps (bench --profile); writes nothing unless ECSLB_TRACE_FILE is set. */
  readonly tracer: Tracer;
  /** The --mapping-file's rules, reloaded by `run` when the file changes. */
  readonly mapping?: MappingFileRules;
}
