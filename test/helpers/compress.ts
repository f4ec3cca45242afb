import { gzipSync } from "node:zlib";

/**
 * Compressed test data without a Zstandard encoder (Node 20 has none): a zstd frame made of raw blocks, or of RLE
 * blocks, per RFC 8878 §3.1 — valid Zstandard that every decoder must read.
 */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const BLOCK_MAX = 128 * 1024;

function blockHeader(last: boolean, type: 0 | 1, size: number): Buffer {
  const value = (last ? 1 : 0) | (type << 1) | (size << 3);
  return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff]);
}

/** One frame (no content size, no checksum, a 128 KiB window) holding `data` in raw blocks. */
export function zstdFrame(data: Uint8Array): Buffer {
  const parts: Buffer[] = [Buffer.from(ZSTD_MAGIC), Buffer.from([0x00, 7 << 3])];
  if (data.length === 0) parts.push(blockHeader(true, 0, 0));
  for (let at = 0; at < data.length; at += BLOCK_MAX) {
    const piece = data.subarray(at, Math.min(data.length, at + BLOCK_MAX));
    parts.push(blockHeader(at + BLOCK_MAX >= data.length, 0, piece.length), Buffer.from(piece));
  }
  return Buffer.concat(parts);
}

/** One frame of `count` bytes all equal to `byte`, in RLE blocks: a few bytes that decompress to a lot. */
export function zstdRunFrame(byte: number, count: number): Buffer {
  const parts: Buffer[] = [Buffer.from(ZSTD_MAGIC), Buffer.from([0x00, 7 << 3])];
  for (let left = count; left > 0; left -= BLOCK_MAX) {
    const size = Math.min(left, BLOCK_MAX);
    parts.push(blockHeader(left <= BLOCK_MAX, 1, size), Buffer.from([byte]));
  }
  return Buffer.concat(parts);
}

/** `text` as gzip, in one member per `memberBytes` (a multi-member file, as `cat a.gz b.gz` makes). */
export function gzipMembers(text: string | Buffer, memberBytes = Infinity): Buffer {
  const data = Buffer.from(text);
  if (!Number.isFinite(memberBytes)) return gzipSync(data);
  const members: Buffer[] = [];
  for (let at = 0; at < data.length; at += memberBytes) members.push(gzipSync(data.subarray(at, at + memberBytes)));
  return Buffer.concat(members);
}
