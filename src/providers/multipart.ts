import { randomBytes } from "node:crypto";
import { readFileRange } from "../read/file.js";

/** A file part: bytes `start` to `end` (exclusive) of a file on disk. */
export interface FilePart {
  field: string;
  path: string;
  filename: string;
  contentType: string;
  start: number;
  end: number;
}

/** A multipart/form-data body streamed from disk, with its exact length (so Content-Length can be sent). */
export interface MultipartBody {
  /** The body's bytes, pulled as the connection takes them (undici sends async iterables with backpressure). */
  stream: AsyncIterable<Uint8Array>;
  length: number;
  contentType: string;
}

function quote(value: string): string {
  return value.replace(/["\\\r\n]/g, (c) => encodeURIComponent(c));
}

/**
 * Builds a multipart body: text fields, then one file part read from disk as it is sent (never held in memory).
 * `onBytes` is told of every file byte handed to the connection. Each call builds a fresh stream, so a retried
 * request sends the body again from the start.
 */
export function multipartBody(fields: Record<string, string>, file: FilePart, onBytes?: (n: number) => void): MultipartBody {
  const boundary = `ftprep-${randomBytes(12).toString("hex")}`;
  let head = "";
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\ncontent-disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\ncontent-disposition: form-data; name="${quote(file.field)}"; filename="${quote(file.filename)}"\r\ncontent-type: ${file.contentType}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const headBytes = Buffer.from(head, "utf8");
  const tailBytes = Buffer.from(tail, "utf8");
  const size = file.end - file.start;
  async function* parts(): AsyncGenerator<Uint8Array> {
    yield headBytes;
    if (size > 0) {
      // A local file, or an s3:// object read by ranged GETs: streamed either way, never held whole.
      for await (const chunk of readFileRange(file.path, file.start, file.end)) {
        onBytes?.(chunk.length);
        yield chunk;
      }
    }
    yield tailBytes;
  }
  return {
    stream: parts(),
    length: headBytes.length + size + tailBytes.length,
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}
