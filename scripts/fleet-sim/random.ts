/**
 * Seeded randomness for the fleet simulation: every host, the ELB model and every scenario
 * draw from their own stream derived from one seed, so a run is reproducible.
 */

/** A fast 32-bit PRNG (mulberry32): uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stream for one named part of the run (e.g. "host", 17), independent of the others. */
export function stream(seed: number, name: string, index = 0): () => number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${name}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  // Warm the generator up so nearby seeds do not give nearby first draws.
  const r = mulberry32(h);
  for (let i = 0; i < 4; i++) r();
  return r;
}

/** An exponentially distributed wait with the given mean (a Poisson process's gaps). */
export function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/** Uniform in [min, max). */
export function uniform(random: () => number, min: number, max: number): number {
  return min + (max - min) * random();
}

/** Fisher-Yates, in place. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
