/**
 * The pace objects a simulated agent can run with. `current` is the agent's own ApiPace
 * (agent/fleet/api-pace.ts), unchanged; the wrapper only counts a call that PacedRegistry
 * would have had to sleep for (the reconciler asks the pace first, so that must never happen:
 * it would be a real setTimeout outside virtual time).
 */
import { apiClassOf } from '../../agent/fleet/api-budget.ts';
import { ApiPace, type PaceOptions } from '../../agent/fleet/api-pace.ts';
import type { PaceFactory } from './sim-host.ts';

/** Calls that went out while the pace said wait (should stay 0). */
export const paceViolations = { count: 0 };

/** The agent's ApiPace, with the check above. */
export class CheckedPace extends ApiPace {
  override take(action: string): Promise<void> {
    if (this.delayMs(apiClassOf(action)) > 0) paceViolations.count++;
    return super.take(action);
  }
}

export type PolicyName = 'current';

export const POLICIES: Record<PolicyName, { readonly description: string; readonly pace: PaceFactory }> = {
  current: { description: 'the agent as committed (agent/fleet/api-pace.ts ApiPace)', pace: (o: PaceOptions) => new CheckedPace(o) },
};
