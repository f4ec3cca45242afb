import type { Io } from "./io.js";

/**
 * The machine-readable side of the CLI: every `--json` document and NDJSON line goes through `jsonLine`, which
 * writes ftprep's own keys in snake_case. The library keeps its camelCase TypeScript types (`blankLines`,
 * `maxFileBytes`…); the conversion happens here, once, at the output boundary, and each document is described by a
 * schema in `schemas/` (`*-result.schema.json`, `*-line.schema.json`, `failure.schema.json`).
 */

/**
 * Keys whose value is a map keyed by data, not by ftprep: issue codes (`counts`, `by_code`), roles, label values,
 * record formats, repair kinds, a provider's request or job object. Their keys are printed as they are, at every
 * depth: a role called `toolCall` in a dataset must stay `toolCall`.
 */
const DATA_KEYED = new Set(["counts", "by_code", "messages_by_role", "roles", "labels", "source_formats", "changes", "unconvertible", "request", "estimate", "hyperparameters", "response"]);

/** `blankLines` → `blank_lines`; a key that is not camelCase (`E_SCHEMA`, `p50`, `over_limit`) is left as it is. */
export function snakeCaseKey(key: string): string {
  return /^[a-z][a-zA-Z0-9]*$/.test(key) ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : key;
}

/** A copy of `value` with ftprep's own object keys in snake_case (data-keyed maps left as they are). */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const name = snakeCaseKey(key);
    out[name] = DATA_KEYED.has(name) ? v : snakeCaseKeys(v);
  }
  return out;
}

/** One JSON document (or NDJSON line) on stdout: ftprep's keys in snake_case, then a newline. */
export function printJson(io: Io, value: unknown): void {
  io.stdout(`${JSON.stringify(snakeCaseKeys(value))}\n`);
}
