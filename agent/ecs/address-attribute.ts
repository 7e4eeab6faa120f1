/**
 * Tells ECS where this host's targets live: the custom attribute
 * `ecs-anywhere-lb.address=<registered address>` on the host's own container instance
 * (ecs:PutAttributes), put after the first pass and after every address change. `fleet status`
 * and `fleet clean` read it to tell whose a target is; task placement constraints can require it
 * (`attribute:ecs-anywhere-lb.address exists`). It never blocks registrations: `publish` only
 * keeps the wanted value, and one background loop puts it, paced and retried with backoff
 * until it is there or a newer address replaces it.
 */
import { OperationError, errorMessage } from '../errors.ts';
import { backoffDelay } from '../core/backoff.ts';
import type { Log } from '../log.ts';
import type { ContainerInstanceIdentity } from './introspection.ts';
import { ADDRESS_ATTRIBUTE } from '../fleet-view/fleet-facts.ts';


export interface AddressAttributeOptions {
  /** Which container instance this host is (the ECS agent's introspection endpoint). */
  readonly identity: () => Promise<ContainerInstanceIdentity>;
  /** Puts the attribute (paced and retried inside: ecs-api.ts). */
  readonly put: (identity: ContainerInstanceIdentity, name: string, value: string) => Promise<void>;
  readonly log: Log;
  /** Backoff between rounds that failed: from baseMs, doubling up to capMs, jittered. */
  readonly retry: { readonly baseMs: number; readonly capMs: number };
  /** The wait after a failure that will not pass by itself (AccessDenied: the role lacks ecs:PutAttributes), default PERMANENT_RETRY_MS. */
  readonly permanentRetryMs?: number;
  readonly random?: () => number;
}

/** How long a refused put waits: a fixed role is noticed within this, a fleet of refused hosts costs ECS little. */
export const PERMANENT_RETRY_MS = 30 * 60_000;

/** The address attribute of this host's container instance. */
export class AddressAttribute {
  private wanted: string | undefined;
  private written: string | undefined;
  private identity: ContainerInstanceIdentity | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly o: AddressAttributeOptions) {}

  /** Asks for the attribute to hold `address` (the address the last pass registered); returns at once. */
  publish(address: string | undefined): void {
    if (address === undefined || this.stopped || address === this.wanted) return;
    this.wanted = address;
    this.wake?.();
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /** Stops retrying (a put in flight finishes); resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped && this.wanted !== undefined && this.wanted !== this.written) {
      const value = this.wanted;
      try {
        this.identity ??= await this.o.identity();
        await this.o.put(this.identity, ADDRESS_ATTRIBUTE, value);
        this.written = value;
        this.o.log.info(`put ${ADDRESS_ATTRIBUTE}=${value} on ${this.identity.containerInstanceArn}`, { event: 'address-attribute', address: value, containerInstanceArn: this.identity.containerInstanceArn, cluster: this.identity.cluster });
        failures = 0;
      } catch (err) {
        const permanent = err instanceof OperationError && err.kind === 'permanent';
        const delayMs = permanent ? (this.o.permanentRetryMs ?? PERMANENT_RETRY_MS) : backoffDelay(failures, this.o.retry.baseMs, this.o.retry.capMs, this.o.random);
        failures++;
        // The first failure and every 10th are warnings: a host without an ECS agent (or without the permission) says so once, not at every retry.
        this.o.log[failures === 1 || failures % 10 === 0 ? 'warn' : 'debug'](`cannot put ${ADDRESS_ATTRIBUTE}=${value} (${errorMessage(err)}); retrying in ${delayMs} ms`, { event: 'address-attribute-failed', address: value, retryInMs: delayMs, attempt: failures, error: errorMessage(err) });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }
}
