import { readFileChunks } from "../read/file.js";
import { isBlankLine, readLineBatches } from "../read/lines.js";
import type { LineSet } from "./line-set.js";
import type { ShardWriter } from "./shard-writer.js";

/**
 * The second read, when one is needed: copies a JSONL file's records into `writer`, leaving out blank lines and
 * the lines in `drop` (decided by the validating pass). Nothing is validated again.
 */
export async function copyRecords(
  path: string,
  drop: LineSet,
  writer: ShardWriter,
  options: { maxLineBytes: number; signal?: AbortSignal; range?: { start: number; end: number } },
): Promise<void> {
  drop.rewind();
  const chunks = readFileChunks(path, { ...(options.signal ? { signal: options.signal } : {}), ...(options.range ?? {}) });
  for await (const batch of readLineBatches(chunks, { maxLineBytes: options.maxLineBytes })) {
    for (const line of batch) {
      if (line.tooLong || isBlankLine(line.bytes) || drop.hasNext(line.number)) continue;
      writer.write(line.bytes, line.terminator);
    }
    if (writer.wantsFlush) await writer.flush();
  }
}
