/** `deregister --all`: removes every target this host registered, by hand (e.g. before maintenance or uninstall). */
import type { AddressChoice } from '../core/address.ts';
import type { AgentState } from '../core/state.ts';
import type { Parts } from './parts.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';

/**
 * Why nothing of this host's can be in any target group, or undefined when the groups must be
 * read to be sure. The agent records an address in the state before it registers anything on
 * it, and each target before registering it: with no recorded target, only a current address
 * that the state already knows can have targets of ours on it (e.g. ones added by hand or
 * lost from the records). So a host that never ran the agent, or has no usable address, has
 * nothing to deregister, and needs neither credentials nor a single API call to say so.
 */
export function nothingToDeregister(state: AgentState, choice: AddressChoice): string | undefined {
  if (state.targets.length > 0) return undefined;
  if (choice.address === undefined) return `no target recorded and no current address (${choice.problem ?? 'none'})`;
  if (!state.addresses.includes(choice.address)) return `no target recorded, and this host never registered on ${choice.address}`;
  return undefined;
}

export async function deregisterAll(parts: Parts): Promise<number> {
  const state = await parts.reconciler.currentState();
  const nothing = nothingToDeregister(state, await parts.addresses.current());
  if (nothing !== undefined) {
    process.stdout.write(`nothing to deregister: ${nothing}\n0 target(s) deregistered\n`);
    return EXIT_OK;
  }
  const { deregistered, failed } = await parts.reconciler.deregisterAll('manual-deregister');
  for (const t of deregistered) process.stdout.write(`deregistered ${t.targetGroupArn} ${t.id}:${t.port}\n`);
  process.stdout.write(`${deregistered.length} target(s) deregistered${failed > 0 ? `, ${failed} failure(s): see the log above` : ''}\n`);
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
}
