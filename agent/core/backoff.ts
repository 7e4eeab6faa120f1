/** Backoff after a transient failure: from 1 s, doubling up to 30 s unless --retry-max-delay says otherwise. */
export const DEFAULT_RETRY: { readonly baseMs: number; readonly capMs: number } = { baseMs: 1000, capMs: 30_000 };

/** `ms` spread evenly over +-`fraction` of itself (0.1: 90% to 110%), rounded: periodic work of many hosts stays spread. */
export function jittered(ms: number, fraction: number, random: () => number): number {
  return Math.round(ms * (1 - fraction + 2 * fraction * random()));
}

/** Exponential backoff with full jitter (AWS's recommended shape), bounded by a cap. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(Math.round(ceiling * random()), Math.min(baseMs, ceiling) / 2);
}
