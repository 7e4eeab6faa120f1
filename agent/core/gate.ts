/** What the readiness gate asks and answers: the port between the gate's HTTP server (readiness/) and the core's decision (reconcile/readiness.ts). */

/** What a request to the gate shows of its caller. */
export interface GateQuery {
  readonly sourceAddress: string;
  /** `?id=` (host network mode: the last segment of ECS_CONTAINER_METADATA_URI_V4). */
  readonly id?: string;
}

/** The gate's answer: 200 when ready, 503 with a one-line reason before. */
export interface GateAnswer {
  readonly ready: boolean;
  readonly reason: string;
  /** The caller, when known (for the latch and the log; never sent back). */
  readonly containerId?: string;
}
