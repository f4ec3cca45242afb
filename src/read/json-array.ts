import { Readable } from "node:stream";
import streamArray from "stream-json/streamers/stream-array.js";

/** One element of a top-level JSON array, or the reason the array could not be read further. */
export type JsonArrayItem =
  | { kind: "record"; index: number; value: unknown }
  | { kind: "error"; message: string };

/**
 * Streams the elements of a `.json` file holding one top-level array (stream-json's StreamArray), so a large
 * array never sits whole in memory. A malformed document or a top-level value that is not an array ends the
 * stream with an `error` item instead of throwing: it is a finding about the data, not an operational failure.
 * Errors of the source itself (an unreadable file) are rethrown.
 */
export async function* readJsonArray(source: AsyncIterable<Uint8Array>): AsyncGenerator<JsonArrayItem, void, undefined> {
  let sourceError: unknown;
  const input = Readable.from(source, { objectMode: false });
  const parser = streamArray.withParserAsStream();
  input.on("error", (error) => {
    sourceError = error;
    parser.destroy(error);
  });
  input.pipe(parser);
  try {
    for await (const item of parser as AsyncIterable<{ key: number; value: unknown }>) {
      yield { kind: "record", index: item.key, value: item.value };
    }
  } catch (error) {
    if (sourceError !== undefined) throw sourceError;
    yield { kind: "error", message: (error as Error).message };
  } finally {
    input.destroy();
    parser.destroy();
  }
}
