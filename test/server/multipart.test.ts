import { createHash } from "node:crypto";
import { request } from "node:http";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundaryOf, MULTIPART_LIMITS, MultipartError, MultipartParser } from "../../src/server/multipart.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * The local server's multipart reader: the same parts whatever the chunking of the body (a delimiter, a CRLF or a
 * header block cut at every offset), the edges of RFC 2046 (preamble, epilogue, transport padding, CRLF next to a
 * delimiter, a missing close delimiter), busboy's limits, and the answers the upload routes give over HTTP.
 */

interface Parsed {
  fields: [string, string][];
  files: { name: string | undefined; filename: string | undefined; mimeType: string; data: Buffer }[];
  complete: boolean;
}

/** Parses `body` fed in the chunks that `cuts` (ascending offsets) make; a MultipartError is returned, not thrown. */
function parse(body: Buffer, boundary: string, cuts: number[] = []): Parsed | MultipartError {
  const parsed: Parsed = { fields: [], files: [], complete: false };
  const parser = new MultipartParser(boundary, {
    field: (name, value) => void parsed.fields.push([name, value]),
    file(name, filename, mimeType) {
      const pieces: Buffer[] = [];
      const file = { name, filename, mimeType, data: Buffer.alloc(0) };
      parsed.files.push(file);
      return {
        write(chunk) {
          pieces.push(chunk);
          file.data = Buffer.concat(pieces);
        },
      };
    },
  });
  try {
    let from = 0;
    for (const cut of [...cuts, body.length]) {
      parser.push(body.subarray(from, cut));
      from = cut;
    }
    parser.end();
    parsed.complete = parser.complete;
  } catch (error) {
    if (error instanceof MultipartError) return error;
    throw error;
  }
  return parsed;
}

const B = "XyZ-boundary";
/** File bytes full of near-delimiters: a CR, CRLF, CRLF-dash-dash and the boundary all but its last character. */
const TRICKY = Buffer.from(`{"a":1}\r\n--${B.slice(0, -1)}!\r\r\n--${B.slice(0, 5)}\r\n-\r\n\n--${B}\r`);

function body(file: Buffer, boundary = B): Buffer {
  return Buffer.concat([
    Buffer.from(`preamble --${boundary} not at a line start\r\n`),
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="données – 训练.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}\r\ncontent-disposition: form-data; name="expiry"\r\n\r\n24\r\n--${boundary}--\r\nepilogue\r\n--${boundary}\r\nignored`),
  ]);
}

const EXPECTED = (file: Buffer): Parsed => ({
  fields: [
    ["purpose", "fine-tune"],
    ["expiry", "24"],
  ],
  files: [{ name: "file", filename: "données – 训练.jsonl", mimeType: "application/octet-stream", data: file }],
  complete: true,
});

describe("multipart reader", () => {
  it("reads the same parts from a body cut into two chunks at every offset, and into 1-byte chunks", () => {
    // TRICKY must hold no whole delimiter, or the test would test nothing.
    expect(TRICKY.includes(`\r\n--${B}`)).toBe(false);
    const bytes = body(TRICKY);
    for (let cut = 0; cut <= bytes.length; cut++) expect(parse(bytes, B, [cut]), `cut at ${cut}`).toEqual(EXPECTED(TRICKY));
    expect(parse(bytes, B, Array.from({ length: bytes.length }, (_, i) => i))).toEqual(EXPECTED(TRICKY));
  });

  it("reads the same parts from any chunking (property)", () => {
    const bytes = body(TRICKY);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(parse(bytes, B, cuts.sort((a, b) => a - b))).toEqual(EXPECTED(TRICKY));
      }),
      { seed: 20261202, numRuns: 400 },
    );
  });

  it("keeps CR and LF next to a delimiter as the file's own bytes, at every cut", () => {
    for (const text of ["", "\r", "\n", "\r\n", "\r\n\r\n", "-", "--", "a\r\n-", `\r\n-${B}`, "\r\r\r"]) {
      const file = Buffer.from(text);
      const bytes = body(file);
      for (let cut = 0; cut <= bytes.length; cut++) expect(parse(bytes, B, [cut]), `${JSON.stringify(text)} cut at ${cut}`).toEqual(EXPECTED(file));
    }
  });

  it("takes a first delimiter with no preamble, transport padding after a delimiter, and an empty header block", () => {
    const bytes = Buffer.from(`--${B} \t\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n--${B}\r\n\r\nno headers: skipped\r\n--${B}--`);
    for (let cut = 0; cut <= bytes.length; cut++) expect(parse(bytes, B, [cut])).toEqual({ fields: [["a", "1"]], files: [], complete: true });
  });

  it("refuses a body cut anywhere before its close delimiter", () => {
    const bytes = body(Buffer.from(chatLines(2)));
    const close = bytes.indexOf(`\r\n--${B}--`) + B.length + 6;
    for (let end = 0; end < close; end++) {
      const result = parse(bytes.subarray(0, end), B);
      expect(result, `ended at ${end}`).toBeInstanceOf(MultipartError);
      expect((result as Error).message).toBe("the body ended before its closing boundary");
    }
    expect(parse(bytes.subarray(0, close), B)).toEqual(EXPECTED(Buffer.from(chatLines(2))));
    // Ends with a delimiter that opens one more part, not the close delimiter.
    expect(parse(Buffer.from(`--${B}\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n--${B}\r\n`), B)).toBeInstanceOf(MultipartError);
  });

  it("refuses what may not follow a delimiter, and malformed part headers", () => {
    const refusals: [string, RegExp][] = [
      [`--${B}x\r\n\r\n--${B}--`, /followed by something other/],
      [`--${B}-x\r\n--${B}--`, /followed by something other/],
      [`--${B} --\r\n`, /followed by something other/],
      [`--${B}\rx\r\n--${B}--`, /CR without LF/],
      [`--${B}\r\ncontent-disposition form-data\r\n\r\n\r\n--${B}--`, /has no name/],
      [`--${B}\r\nbad name: x\r\n\r\n\r\n--${B}--`, /name holds a character/],
      [`--${B}\r\ncontent-disposition: form-data; name="a\u0001"\r\n\r\n\r\n--${B}--`, /control character/],
      [`--${B}\r\nx: a\nb: c\r\n\r\n\r\n--${B}--`, /control character/],
      [`--${B}\r\n folded: first\r\n\r\n\r\n--${B}--`, /folded line/],
      [`--${B}\r\nx: ${"a".repeat(MULTIPART_LIMITS.headerBytes)}\r\n\r\n\r\n--${B}--`, /headers are longer than 16384 bytes/],
    ];
    for (const [text, message] of refusals) {
      const bytes = Buffer.from(text);
      for (const cuts of [[], [Math.floor(bytes.length / 2)], Array.from({ length: Math.min(bytes.length, 300) }, (_, i) => i)]) {
        const result = parse(bytes, B, cuts);
        expect(result, JSON.stringify(text.slice(0, 80))).toBeInstanceOf(MultipartError);
        expect((result as Error).message).toMatch(message);
      }
    }
  });

  it("reads names as UTF-8, prefers filename*, keeps a path's last segment, unescapes quotes, folds headers", () => {
    const part = (headers: string) => Buffer.from(`--${B}\r\n${headers}\r\n\r\nx\r\n--${B}--`);
    const file = (headers: string) => {
      const result = parse(part(headers), B);
      if (result instanceof MultipartError) throw result;
      return result.files[0];
    };
    expect(file(`content-disposition: form-data; name="file"; filename="a.jsonl"; filename*=UTF-8''%C3%A9t%C3%A9.jsonl`)?.filename).toBe("été.jsonl");
    expect(file(`content-disposition: form-data; name="file"; filename*=iso-8859-1''%E9t%E9.jsonl`)?.filename).toBe("été.jsonl");
    expect(file(`content-disposition: form-data; name="file"; filename="C:\\\\data\\\\train.jsonl"`)?.filename).toBe("train.jsonl");
    expect(file(`content-disposition: form-data; name="file"; filename="../../etc/passwd"`)?.filename).toBe("passwd");
    expect(file(`content-disposition: form-data; name="file"; filename=".."`)?.filename).toBe("");
    expect(file(`content-disposition: form-data; name="file"; filename="say \\"hi\\".jsonl"`)?.filename).toBe('say "hi".jsonl');
    // A backslash before anything but `"` or `\` stays (as busboy kept it), and then cuts the name as a path would.
    expect(file(`content-disposition: form-data; name="file"; filename="dir\\x.jsonl"`)?.filename).toBe("x.jsonl");
    expect(file(`CONTENT-DISPOSITION: Form-Data;name=file;filename=plain.jsonl\r\ncontent-type: Application/JSONL; charset=utf-8`)).toEqual({
      name: "file",
      filename: "plain.jsonl",
      mimeType: "application/jsonl",
      data: Buffer.from("x"),
    });
    expect(file(`content-disposition: form-data;\r\n\tname="file";\r\n filename="folded.jsonl"`)?.filename).toBe("folded.jsonl");
    // An empty file name still makes a file part (busboy's rule: the parameter's presence decides).
    expect(file(`content-disposition: form-data; name="file"; filename=""\r\ncontent-type: application/jsonl`)).toMatchObject({ name: "file", filename: "" });
    // An unreadable filename* is left out alone: filename beside it still names the file.
    expect(file(`content-disposition: form-data; name="file"; filename="a.jsonl"; filename*=x-unknown''abc`)?.filename).toBe("a.jsonl");
    expect(file(`content-disposition: form-data; name="file"; filename*=UTF-8''%ZZ; filename="b.jsonl"`)?.filename).toBe("b.jsonl");
    // A repeated header's folded lines go with it (the first is kept), not refused as a fold with nothing before it.
    expect(file(`content-disposition: form-data; name="file"; filename="c.jsonl"\r\ncontent-disposition: form-data;\r\n name="other"`)?.filename).toBe("c.jsonl");
    // No file name but application/octet-stream: a file (busboy's rule); no name, no type: a field.
    expect(file(`content-disposition: form-data; name="file"\r\ncontent-type: application/octet-stream`)).toMatchObject({ name: "file", filename: undefined });
    expect(parse(part(`content-disposition: form-data; name="note"`), B)).toEqual({ fields: [["note", "x"]], files: [], complete: true });
    // Skipped: no disposition, another disposition, an unreadable one.
    for (const headers of ["content-type: text/plain", `content-disposition: attachment; filename="a.jsonl"`, `content-disposition: form-data; name="file"; filename="open`]) {
      expect(parse(part(headers), B), headers).toEqual({ fields: [], files: [], complete: true });
    }
  });

  it("keeps busboy's limits: 32 fields, 64 KiB a field, one file", () => {
    const parts = Array.from({ length: 40 }, (_, i) => `--${B}\r\ncontent-disposition: form-data; name="f${i}"\r\n\r\n${i === 0 ? "é".repeat(40_000) : i}\r\n`);
    const files = [1, 2].map((i) => `--${B}\r\ncontent-disposition: form-data; name="file"; filename="${i}.jsonl"\r\n\r\nfile ${i}\r\n`);
    const result = parse(Buffer.from(`${files[0]}${parts.join("")}${files[1]}--${B}--`), B) as Parsed;
    expect(result.fields).toHaveLength(MULTIPART_LIMITS.fields);
    expect(Buffer.byteLength(result.fields[0]![1])).toBeLessThanOrEqual(MULTIPART_LIMITS.fieldBytes);
    expect(result.fields[0]![1]).toBe("é".repeat(MULTIPART_LIMITS.fieldBytes / 2));
    expect(result.fields.at(-1)).toEqual(["f31", "31"]);
    expect(result.files).toEqual([{ name: "file", filename: "1.jsonl", mimeType: "text/plain", data: Buffer.from("file 1") }]);
  });

  it("finds the boundary in the Content-Type, quoted or not", () => {
    expect(boundaryOf("multipart/form-data; boundary=abc")).toBe("abc");
    expect(boundaryOf('multipart/form-data; charset=utf-8; BOUNDARY="a b:c?=(\\"d\\")"')).toBe('a b:c?=("d")');
    expect(boundaryOf("multipart/form-data;boundary=----formdata-undici-0123;")).toBe("----formdata-undici-0123");
    for (const type of ["multipart/form-data", "multipart/form-data; boundary=", 'multipart/form-data; boundary=""', "multipart/form-data; boundary=é", `multipart/form-data; boundary=${"a".repeat(201)}`, 'multipart/form-data; boundary="open']) {
      expect(() => boundaryOf(type), type).toThrow(MultipartError);
    }
    // A quoted boundary with spaces and regular-expression characters delimits parts like any other.
    const odd = "a b:c?=(d)+.*";
    expect(parse(body(TRICKY, odd), odd, [77])).toEqual(EXPECTED(TRICKY));
  });
});

describe("multipart uploads over HTTP", () => {
  const tmp = useTempDir("multipart");
  const serve = useServers();

  /** POSTs `bytes` to /v1/files in writes of `step` bytes; the status and parsed answer. */
  function post(url: string, contentType: string, bytes: Buffer, step = bytes.length): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request(`${url}/v1/files`, { method: "POST", headers: { "content-type": contentType } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> }));
      });
      req.on("error", reject);
      const pump = (at: number): void => {
        if (at >= bytes.length) {
          req.end();
          return;
        }
        // One write per event-loop turn, so the server sees each as its own chunk.
        req.write(bytes.subarray(at, at + step), () => setImmediate(() => pump(at + step)));
      };
      pump(0);
    });
  }

  it("stores a file sent in small pieces under a quoted boundary, with its UTF-8 name and exact bytes", async () => {
    const store = tmp();
    const server = await serve({ store });
    const odd = "a b:c?=(d)";
    const data = Buffer.from(chatLines(3) + "\r\n");
    const sent = await post(server.url, `multipart/form-data; boundary="${odd}"`, body(data, odd), 7);
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ filename: "données – 训练.jsonl", bytes: data.length, num_lines: 4 });
    const stored = await readFile(join(store, "files", `${sent.body.id as string}.json`), "utf8");
    expect(JSON.parse(stored)).toMatchObject({ sha256: createHash("sha256").update(data).digest("hex") });
  });

  it("answers 400 for a malformed body and 422 without the file part, keeping nothing", async () => {
    const store = tmp();
    const server = await serve({ store });
    const data = Buffer.from(chatLines(50));
    const whole = body(data);
    const cases: [string, Buffer, number, RegExp][] = [
      [`multipart/form-data`, whole, 400, /^malformed multipart request: no boundary in the Content-Type header$/],
      [`multipart/form-data; boundary=${B}`, whole.subarray(0, whole.indexOf(`--${B}--`) - 2), 400, /before its closing boundary/],
      [`multipart/form-data; boundary=${B}`, Buffer.concat([whole.subarray(0, 300), Buffer.from(`\r\n--${B}x\r\n`), whole.subarray(300)]), 400, /followed by something other/],
      [`multipart/form-data; boundary=${B}`, Buffer.from(`--${B}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n--${B}--\r\n`), 422, /^Field required$/],
      [`multipart/form-data; boundary=${B}`, Buffer.from(`--${B}\r\nx\u0000: y\r\n\r\n\r\n--${B}--\r\n`), 400, /control character/],
    ];
    for (const [type, bytes, status, message] of cases) {
      const sent = await post(server.url, type, bytes, 4096);
      expect(sent.status, message.source).toBe(status);
      expect((sent.body.error as { message: string }).message).toMatch(message);
    }
    expect(await readdir(join(store, "tmp"))).toEqual([]);
    expect(await readdir(join(store, "files"))).toEqual([]);
    // The server still takes a well-formed upload.
    expect((await post(server.url, `multipart/form-data; boundary=${B}`, whole)).status).toBe(200);
  });
});
