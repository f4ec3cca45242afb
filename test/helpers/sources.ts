/** In-memory byte sources for stream tests. */

/** Yields `bytes` in chunks of `size` bytes (1 gives the worst case for boundary handling). */
export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

/** Collects an async iterable into an array. */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

/** Deterministic pseudo-random numbers, so generated inputs are the same on every run. */
export { mulberry32 as seeded } from "../../src/server/faults.js";
