// Seeded, deterministic random numbers for the pure-TypeScript parts (baselines, bootstrap, station draws): the
// same seed gives the same numbers on every machine, independent of the engine's generators.

/** Mulberry32: a small, fast, seeded 32-bit PRNG; returns uniform numbers in [0, 1). Deterministic for a seed. */
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

/** Standard normal draws: mulberry32 uniforms through Box-Muller, both values of each pair used. */
export function normalSampler(seed: number): () => number {
  const uniform = mulberry32(seed);
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) { const v = spare; spare = NaN; return v; }
    const r = Math.sqrt(-2 * Math.log(1 - uniform())), th = 2 * Math.PI * uniform(); // 1 - u in (0, 1]
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

/** A seeded permutation of 0..n-1 (Fisher-Yates over mulberry32). */
export function permutation(n: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
  return order;
}
