import { open } from "node:fs/promises";
import { FileSystemError } from "../errors.js";

/** A byte range of a file: `[start, end)`. */
export interface ByteRange {
  start: number;
  end: number;
}

const LF = 0x0a;
/** Bytes read at a time while looking for the end of a line. */
const PROBE_BYTES = 64 * 1024;

/**
 * Cuts a file of `size` bytes into at most `count` ranges of about equal size, each but the last ending just after a
 * `\n`, so every range holds whole lines (a `\r\n` stays with its line). Only the bytes from each cut to the next
 * `\n` are read; a line longer than the rest of its share merges two ranges into one, so there may be fewer.
 */
export async function lineRanges(path: string, size: number, count: number): Promise<ByteRange[]> {
  if (!Number.isSafeInteger(count) || count < 1) throw new TypeError(`Expected \`count\` to be a positive integer, got ${String(count)}`);
  const targets: number[] = [];
  for (let k = 1; k < count; k++) targets.push(Math.floor((size * k) / count));
  return lineRangesAt(path, size, targets);
}

/**
 * Cuts a file of `size` bytes at the first line end at or after each of `targets` (ascending byte offsets), as
 * `lineRanges` does: whole lines in every range; a target inside the range before it (a long line) makes no cut.
 */
export async function lineRangesAt(path: string, size: number, targets: readonly number[]): Promise<ByteRange[]> {
  if (targets.length === 0 || size === 0) return [{ start: 0, end: size }];
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  }
  const ranges: ByteRange[] = [];
  const probe = Buffer.allocUnsafe(PROBE_BYTES);
  try {
    let start = 0;
    for (const target of targets) {
      let at = Math.max(start, target);
      let cut = -1;
      while (at < size && cut === -1) {
        const { bytesRead } = await handle.read(probe, 0, Math.min(PROBE_BYTES, size - at), at);
        if (bytesRead === 0) break;
        const i = probe.subarray(0, bytesRead).indexOf(LF);
        if (i !== -1) cut = at + i + 1;
        else at += bytesRead;
      }
      if (cut === -1 || cut >= size) break;
      ranges.push({ start, end: cut });
      start = cut;
    }
    ranges.push({ start, end: size });
  } catch (error) {
    throw FileSystemError.from(path, "read", error);
  } finally {
    await handle.close();
  }
  return ranges;
}
