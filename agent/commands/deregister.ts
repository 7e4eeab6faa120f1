/** `deregister --all`: removes every target this host registered, by hand (e.g. before maintenance or uninstall). */
import type { Parts } from './parts.ts';

export async function deregisterAll(parts: Parts): Promise<number> {
  const { deregistered, failed } = await parts.reconciler.deregisterAll('manual-deregister');
  for (const t of deregistered) process.stdout.write(`deregistered ${t.targetGroupArn} ${t.id}:${t.port}\n`);
  process.stdout.write(`${deregistered.length} target(s) deregistered${failed > 0 ? `, ${failed} failure(s): see the log above` : ''}\n`);
  return failed > 0 ? 1 : 0;
}
