/** Exponential backoff with full jitter (AWS's recommended shape), bounded by a cap. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(Math.round(ceiling * random()), Math.min(baseMs, ceiling) / 2);
}
