/**
 * What the first bytes of a file say it is, before reading it as text: a binary file, an archive or a compressed
 * stream under a `.jsonl` name is one finding about the file, not one E_UTF8 per "line". Pure: bytes in, verdict out.
 */

/** Bytes looked at to decide (a text file's first 4 KiB are plenty; a binary file shows itself at once). */
export const SNIFF_BYTES = 4096;

const SIGNATURES: readonly { bytes: readonly number[]; what: string }[] = [
  { bytes: [0x1f, 0x8b], what: "gzip-compressed data (name it .jsonl.gz to have it read as compressed JSONL)" },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], what: "Zstandard-compressed data (name it .jsonl.zst to have it read as compressed JSONL)" },
  { bytes: [...Buffer.from("%PDF-")], what: "a PDF document" },
  { bytes: [0x50, 0x4b, 0x03, 0x04], what: "a ZIP archive (or a .docx/.xlsx document)" },
  { bytes: [...Buffer.from("PAR1")], what: "a Parquet file" },
  { bytes: [...Buffer.from("ARROW1")], what: "an Arrow file" },
  { bytes: [...Buffer.from("BZh")], what: "bzip2-compressed data" },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: "xz-compressed data" },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: "a 7-Zip archive" },
  { bytes: [...Buffer.from("SQLite format 3\u0000")], what: "an SQLite database" },
  { bytes: [0x89, 0x50, 0x4e, 0x47], what: "a PNG image" },
  { bytes: [0xff, 0xd8, 0xff], what: "a JPEG image" },
  { bytes: [0x7f, 0x45, 0x4c, 0x46], what: "an executable (ELF)" },
  { bytes: [0xff, 0xfe], what: "UTF-16 text (ftprep reads UTF-8; convert it with iconv -f UTF-16 -t UTF-8)" },
  { bytes: [0xfe, 0xff], what: "UTF-16 text (ftprep reads UTF-8; convert it with iconv -f UTF-16 -t UTF-8)" },
];

function startsWith(head: Uint8Array, bytes: readonly number[]): boolean {
  if (head.length < bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[i] !== bytes[i]) return false;
  return true;
}

/**
 * Describes a file that is plainly not text ("a PDF document", "binary data"), from its first bytes; undefined for
 * anything that may be text, bad text included (that is for the line-level checks). Binary means a NUL byte, or
 * more than one byte in ten a control character that text does not use.
 */
export function describeNonText(head: Uint8Array): string | undefined {
  for (const signature of SIGNATURES) if (startsWith(head, signature.bytes)) return signature.what;
  const n = Math.min(head.length, SNIFF_BYTES);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = head[i]!;
    if (b === 0) return "binary data (it holds NUL bytes)";
    // Tab, LF, FF, CR and ESC appear in text; the other C0 controls do not.
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) control++;
  }
  return n > 0 && control * 10 > n ? "binary data (control bytes)" : undefined;
}

/** What a `.json` file holds, from its first bytes: an array of records, JSON Lines after all, or something else. */
export type JsonLayout = { kind: "json-array" } | { kind: "jsonl" } | { kind: "other"; reason: string };

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\r" || text[i] === "\n")) i++;
  return i;
}

/**
 * Classifies a `.json` file from its head (`complete` when the head is the whole file): a top-level array is a
 * dataset; JSON Lines saved under `.json` (a first line that is a whole JSON object, and another record after it)
 * are read as JSONL; any other value — a dataset card's `dataset_info.json`, a `state.json`, a manifest — is not
 * a dataset, with the reason.
 */
export function classifyJsonHead(head: Uint8Array, complete: boolean): JsonLayout {
  const binary = describeNonText(head);
  if (binary) return { kind: "other", reason: `not JSON: it looks like ${binary}` };
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("utf8").replace(/^\uFEFF/, "");
  const start = skipSpace(text, 0);
  if (start === text.length) return { kind: "other", reason: complete ? "an empty file" : "only whitespace in its first bytes" };
  const first = text[start];
  if (first === "[") return { kind: "json-array" };
  if (first !== "{") return { kind: "other", reason: "not an array of records (its top-level value is not an array)" };
  const newline = text.indexOf("\n", start);
  if (newline !== -1) {
    try {
      const value: unknown = JSON.parse(text.slice(start, newline));
      const next = skipSpace(text, newline + 1);
      if (value !== null && typeof value === "object" && text[next] === "{") return { kind: "jsonl" };
    } catch {
      // The first line is not a whole value: one object over several lines.
    }
  }
  return { kind: "other", reason: "a JSON object, not an array of records (metadata such as dataset_info.json, state.json or a manifest)" };
}
