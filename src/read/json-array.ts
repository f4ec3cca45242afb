import { getManyValues, isMany, none } from "stream-chain/defs.js";
import parser from "stream-json/core/parser.js";
import streamArray from "stream-json/core/streamers/stream-array.js";

/** One element of a top-level JSON array, or the reason the array could not be read further. */
export type JsonArrayItem =
  | { kind: "record"; index: number; value: unknown }
  | { kind: "error"; message: string };

interface ArrayElement {
  key: number;
  value: unknown;
}

/** A stream-chain function's result as a list: `none` is nothing, `many(...)` is several values. */
function values<T>(result: unknown): T[] {
  if (result === none) return [];
  if (isMany(result)) return getManyValues(result) as T[];
  return [result as T];
}

/** The parser answers each chunk with an async generator of tokens (or `none` / `many`). */
async function* tokens(result: unknown): AsyncGenerator<unknown> {
  if (result !== null && typeof result === "object" && Symbol.asyncIterator in result) {
    for await (const item of result as AsyncIterable<unknown>) yield* values(item);
  } else {
    yield* values(result);
  }
}

/**
 * Streams the elements of a `.json` file holding one top-level array, with stream-json's parser and StreamArray
 * driven as plain functions (no Node streams in between), so a large array never sits whole in memory and every
 * element parsed before a syntax error is still delivered. A malformed document or a top-level value that is not
 * an array ends the stream with an `error` item instead of throwing: it is a finding about the data. Failures of
 * the source itself (an unreadable file) are rethrown.
 */
export async function* readJsonArray(source: AsyncIterable<Uint8Array>): AsyncGenerator<JsonArrayItem, void, undefined> {
  const parse = parser({ packKeys: true }) as unknown as (text: string | typeof none) => unknown;
  const assemble = streamArray() as unknown as (token: unknown) => unknown;
  const decoder = new TextDecoder("utf-8"); // strips a leading BOM; keeps characters split across chunks whole
  // Elements found in one chunk, delivered before any error that follows them in the same chunk.
  async function* feed(text: string | typeof none): AsyncGenerator<JsonArrayItem> {
    const out: JsonArrayItem[] = [];
    try {
      for await (const token of tokens(parse(text))) {
        for (const item of values<ArrayElement>(assemble(token))) out.push({ kind: "record", index: item.key, value: item.value });
      }
      if (text === none) for (const item of values<ArrayElement>(assemble(none))) out.push({ kind: "record", index: item.key, value: item.value });
    } catch (error) {
      out.push({ kind: "error", message: (error as Error).message });
    }
    yield* out;
  }
  const failed = (item: JsonArrayItem): boolean => item.kind === "error";
  for await (const chunk of source) {
    for await (const item of feed(decoder.decode(chunk, { stream: true }))) {
      yield item;
      if (failed(item)) return;
    }
  }
  const tail = decoder.decode();
  const rest: (string | typeof none)[] = tail.length > 0 ? [tail, none] : [none];
  for (const text of rest) {
    for await (const item of feed(text)) {
      yield item;
      if (failed(item)) return;
    }
  }
}
