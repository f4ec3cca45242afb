/**
 * A streaming `multipart/form-data` reader for the local server's upload routes: bytes in as they arrive, small fields
 * out as strings, the one file part handed on chunk by chunk as views of the request's own buffers (no copy). The
 * delimiter is found with `Buffer#indexOf` (Node's native search, `memchr` for its first byte) — busboy, which this
 * replaces, ran a JavaScript Boyer-Moore-Horspool over every byte — and a delimiter cut by a chunk's edge is kept as
 * at most its length minus one byte until the next chunk tells. Holds at most one part's header block (16 KiB) and
 * the fields (32 of 64 KiB). Pure: no I/O; the caller feeds `push` and `end` and owns backpressure.
 */

/** A malformed body: the caller answers 400 with this message. */
export class MultipartError extends Error {}

/** Where a file part's bytes go; `write` may throw to stop the body (e.g. past a size limit). */
export interface PartSink {
  write(chunk: Buffer): void;
}

export interface MultipartHandler {
  /** A field (a part without a file name), at most FIELD_BYTES of it, read as UTF-8. */
  field(name: string, value: string): void;
  /** A file part begins (the first of the body only): the sink its bytes go to, or undefined to drop them. */
  file(name: string | undefined, filename: string | undefined, mimeType: string): PartSink | undefined;
}

/** busboy's limits, which the server had: one file, 32 fields of at most 64 KiB; a part's headers at most 16 KiB. */
export const MULTIPART_LIMITS = { files: 1, fields: 32, fieldBytes: 64 * 1024, headerBytes: 16 * 1024 } as const;

/** Transport padding allowed after a delimiter (RFC 2046 permits linear white space there). */
const MAX_PADDING = 256;
/** RFC 2046 allows 1–70 characters; a little room for clients that go past it. */
const MAX_BOUNDARY = 200;

const CR = 13;
const LF = 10;
const DASH = 45;
const CRLF = Buffer.from("\r\n");
const CRLF2 = Buffer.from("\r\n\r\n");

// tchar of RFC 9110: the characters of a header or parameter name.
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;
const isToken = (code: number): boolean => code < 128 && TOKEN[code] === 1;

const enum State {
  /** Inside a part (or the preamble): looking for the next delimiter. */
  Body,
  /** Just after a delimiter: `--` (the end), padding, or CRLF (a part's headers follow). */
  AfterDelimiter,
  /** After `--` of a delimiter's first dash. */
  CloseDash,
  /** After a delimiter's CR: LF must follow. */
  LineFeed,
  /** Reading a part's header block up to its empty line. */
  Headers,
  /** After the close delimiter: the epilogue, ignored. */
  Done,
}

/**
 * The boundary of a `multipart/form-data` Content-Type (quoted or not), or a MultipartError saying why there is none.
 */
export function boundaryOf(contentType: string): string {
  const params = parseParams(contentType, contentType.indexOf(";"));
  const boundary = params?.get("boundary");
  if (boundary === undefined || boundary === "") throw new MultipartError("no boundary in the Content-Type header");
  if (boundary.length > MAX_BOUNDARY) throw new MultipartError(`the boundary is longer than ${MAX_BOUNDARY} characters`);
  // Compared as bytes against the body: a boundary outside ASCII could not be matched the way the client wrote it.
  if (!/^[\x20-\x7e]+$/.test(boundary)) throw new MultipartError("the boundary holds characters outside printable ASCII");
  return boundary;
}

/**
 * Reads one multipart body. `push` each chunk in order, then `end`; either throws a MultipartError on a malformed
 * body (or what a sink's `write` throws). A part's data is passed on as views of the pushed chunks, valid as long as
 * the caller keeps them (Node's request chunks are never reused).
 */
export class MultipartParser {
  private readonly delimiter: Buffer;
  private state = State.Body;
  /** The end of the last chunk that may begin a delimiter (a prefix of it, shorter than it). */
  private carry: Buffer | undefined;
  private padding = 0;
  private headerBytes: Buffer | undefined;
  private fields = 0;
  private files = 0;
  /** The current part's destination: a sink, a field's pieces, or nothing (preamble, skipped parts). */
  private sink: PartSink | undefined;
  private field: { name: string; pieces: Buffer[]; bytes: number } | undefined;

  constructor(
    boundary: string,
    private readonly handler: MultipartHandler,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, "latin1");
    // The first delimiter may open the body without the CRLF before it: read as if the body began with one.
    this.carry = CRLF;
  }

  /** Whether the close delimiter has been read. */
  get complete(): boolean {
    return this.state === State.Done;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const length = chunk.length;
    while (pos < length) {
      switch (this.state) {
        case State.Body:
          pos = this.body(chunk, pos);
          break;
        case State.AfterDelimiter: {
          const code = chunk[pos++]!;
          if (code === CR) this.state = State.LineFeed;
          else if (code === DASH && this.padding === 0) this.state = State.CloseDash;
          else if ((code === 32 || code === 9) && ++this.padding <= MAX_PADDING) this.state = State.AfterDelimiter;
          else throw new MultipartError("a boundary is followed by something other than a line break or `--`");
          break;
        }
        case State.CloseDash:
          if (chunk[pos++] !== DASH) throw new MultipartError("a boundary is followed by something other than a line break or `--`");
          this.state = State.Done;
          break;
        case State.LineFeed:
          if (chunk[pos++] !== LF) throw new MultipartError("a boundary line ends in CR without LF");
          this.state = State.Headers;
          this.headerBytes = undefined;
          break;
        case State.Headers:
          pos = this.headers(chunk, pos);
          break;
        case State.Done:
          return;
      }
    }
  }

  /** The body has ended: it must have ended after the close delimiter. */
  end(): void {
    if (this.state !== State.Done) throw new MultipartError("the body ended before its closing boundary");
  }

  /** Body state from `pos`: passes data on up to the next delimiter (returns just past it) or the chunk's end. */
  private body(chunk: Buffer, pos: number): number {
    const delimiter = this.delimiter;
    const size = delimiter.length;
    const length = chunk.length;
    const carry = this.carry;
    if (carry !== undefined) {
      this.carry = undefined;
      // A delimiter may begin in the kept bytes: at each CR of them that begins a prefix of the delimiter.
      for (let at = 0; at !== -1; at = carry.indexOf(CR, at + 1)) {
        const held = carry.length - at;
        if (carry.compare(delimiter, 0, held, at, carry.length) !== 0) continue;
        const wanted = size - held;
        const seen = Math.min(wanted, length - pos);
        if (chunk.compare(delimiter, held, held + seen, pos, pos + seen) !== 0) continue;
        this.data(carry.subarray(0, at));
        if (seen < wanted) {
          // Still a prefix when this chunk ends: keep waiting.
          this.carry = Buffer.concat([carry.subarray(at), chunk.subarray(pos)]);
          return length;
        }
        this.delimiterFound();
        return pos + wanted;
      }
      this.data(carry);
    }
    const found = chunk.indexOf(delimiter, pos);
    if (found !== -1) {
      this.data(chunk.subarray(pos, found));
      this.delimiterFound();
      return found + size;
    }
    // No whole delimiter: keep the tail from the first CR that may still begin one (the earliest start wins).
    let tail = chunk.indexOf(CR, Math.max(pos, length - size + 1));
    while (tail !== -1 && chunk.compare(delimiter, 0, length - tail, tail, length) !== 0) tail = chunk.indexOf(CR, tail + 1);
    if (tail === -1) {
      this.data(pos === 0 ? chunk : chunk.subarray(pos));
    } else {
      this.data(chunk.subarray(pos, tail));
      this.carry = chunk.subarray(tail);
    }
    return length;
  }

  private data(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.sink !== undefined) {
      this.sink.write(bytes);
    } else if (this.field !== undefined) {
      const field = this.field;
      const room = MULTIPART_LIMITS.fieldBytes - field.bytes;
      // Past the limit the value is cut, as busboy cut it.
      if (room <= 0) return;
      const piece = bytes.length <= room ? bytes : bytes.subarray(0, room);
      field.pieces.push(piece);
      field.bytes += piece.length;
    }
  }

  /** The part before the delimiter ends. */
  private delimiterFound(): void {
    const field = this.field;
    if (field !== undefined) {
      this.handler.field(field.name, Buffer.concat(field.pieces, field.bytes).toString("utf8"));
    }
    this.field = undefined;
    this.sink = undefined;
    this.padding = 0;
    this.state = State.AfterDelimiter;
  }

  /**
   * Headers state from `pos` (the boundary line's CRLF just read): reads up to the empty line that ends the block
   * (at once when it is in this chunk, else gathering at most `headerBytes`), then starts the part.
   */
  private headers(chunk: Buffer, pos: number): number {
    const limit = MULTIPART_LIMITS.headerBytes;
    let gathered = this.headerBytes;
    if (gathered === undefined) {
      if (chunk.length - pos >= 2 && chunk[pos] === CR && chunk[pos + 1] === LF) {
        this.startPart(chunk.subarray(pos, pos));
        return pos + 2;
      }
      const end = chunk.indexOf(CRLF2, pos);
      if (end !== -1 && end - pos <= limit) {
        this.startPart(chunk.subarray(pos, end));
        return end + 4;
      }
      // Cut by the chunk's edge (or too long): gather, with the boundary line's CRLF in front so that an empty
      // block is found as the same CRLF CRLF.
      gathered = CRLF;
    }
    const before = gathered.length;
    const window = Buffer.concat([gathered, chunk.subarray(pos, Math.min(chunk.length, pos + limit + 6 - before))]);
    const end = window.indexOf(CRLF2, Math.max(0, before - 3));
    if (end === -1) {
      if (window.length >= limit + 6) throw new MultipartError(`a part's headers are longer than ${limit} bytes`);
      this.headerBytes = window;
      return chunk.length;
    }
    this.headerBytes = undefined;
    this.startPart(window.subarray(2, end));
    return pos + end + 4 - before;
  }

  /** A part's header block is read: decide where its bytes go. */
  private startPart(block: Buffer): void {
    const headers = parseHeaderBlock(block);
    this.state = State.Body;
    const disposition = headers.get("content-disposition");
    // A part without `form-data` disposition (or an unreadable one) is skipped, as busboy skipped it.
    const params = disposition === undefined ? undefined : parseDisposition(disposition);
    if (params === undefined) return;
    const name = params.get("name") || undefined;
    // Present decides, as busboy had it: `filename=""` is still a file part (with no name).
    const rawName = params.get("filename*") ?? params.get("filename");
    const filename = rawName === undefined ? undefined : baseName(rawName);
    const mimeType = mediaType(headers.get("content-type")) ?? "text/plain";
    if (filename !== undefined || mimeType === "application/octet-stream") {
      if (this.files === MULTIPART_LIMITS.files) return;
      this.files++;
      this.sink = this.handler.file(name, filename, mimeType);
      return;
    }
    if (this.fields === MULTIPART_LIMITS.fields || name === undefined) return;
    this.fields++;
    this.field = { name, pieces: [], bytes: 0 };
  }
}

/**
 * A part's header block (without its final empty line): names lower-cased, the first of a repeated name kept,
 * folded lines joined; values read as UTF-8 (file names are, from every SDK). Control characters are refused.
 */
function parseHeaderBlock(block: Buffer): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i < block.length; i++) {
    const code = block[i]!;
    if (code >= 32 ? code !== 127 : code === 9 || (code === CR && block[i + 1] === LF) || (code === LF && block[i - 1] === CR)) continue;
    throw new MultipartError("a part's headers hold a control character");
  }
  let last: string | undefined;
  // Within a repeated header (the first is kept): its folded lines are dropped with it.
  let skipping = false;
  for (const line of block.toString("utf8").split("\r\n")) {
    if (line === "") continue;
    if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) {
      if (skipping) continue;
      if (last === undefined) throw new MultipartError("a part's headers begin with a folded line");
      headers.set(last, `${headers.get(last)!} ${line.trim()}`);
      continue;
    }
    skipping = false;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new MultipartError("a part's header line has no name");
    for (let i = 0; i < colon; i++) if (!isToken(line.charCodeAt(i))) throw new MultipartError("a part's header name holds a character a name may not");
    const name = line.slice(0, colon).toLowerCase();
    if (headers.has(name)) {
      last = undefined;
      skipping = true;
      continue;
    }
    headers.set(name, line.slice(colon + 1).trim());
    last = name;
  }
  return headers;
}

/** `form-data; name="…"; filename="…"`: its parameters, or undefined when it is not form-data or unreadable. */
function parseDisposition(value: string): Map<string, string> | undefined {
  let i = 0;
  while (i < value.length && isToken(value.charCodeAt(i))) i++;
  if (value.slice(0, i).toLowerCase() !== "form-data") return undefined;
  return parseParams(value, i);
}

/** A part's media type, `type/subtype` lower-cased, or undefined when unreadable. */
function mediaType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^([!#$%&'*+.^_`|~0-9a-z-]+)\/([!#$%&'*+.^_`|~0-9a-z-]+)[ \t]*(?:;|$)/i.exec(value);
  return match ? `${match[1]}/${match[2]}`.toLowerCase() : undefined;
}

/**
 * `; name=value` parameters from `start` (RFC 9110: token or quoted-string, `\"` and `\\` unescaped, any other
 * backslash kept as busboy kept it; RFC 8187 `name*=charset'lang'%xx`). Names lower-cased, the first of a name kept.
 * Undefined when malformed; an empty map when `start` is -1.
 */
function parseParams(value: string, start: number): Map<string, string> | undefined {
  const params = new Map<string, string>();
  if (start === -1) return params;
  let i = start;
  const skipSpace = (): void => {
    while (i < value.length && (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9)) i++;
  };
  for (;;) {
    skipSpace();
    if (i === value.length) return params;
    if (value.charCodeAt(i++) !== 59 /* ; */) return undefined;
    skipSpace();
    if (i === value.length) return params;
    const nameStart = i;
    while (i < value.length && isToken(value.charCodeAt(i))) i++;
    if (i === nameStart || value.charCodeAt(i) !== 61 /* = */) return undefined;
    const name = value.slice(nameStart, i).toLowerCase();
    i++;
    let result: string | undefined;
    if (name.endsWith("*")) {
      const valueStart = i;
      while (i < value.length && isToken(value.charCodeAt(i))) i++;
      result = extendedValue(value.slice(valueStart, i));
    } else if (value.charCodeAt(i) === 34 /* " */) {
      let text = "";
      for (i++; ; i++) {
        if (i >= value.length) return undefined;
        const code = value.charCodeAt(i);
        if (code === 34) break;
        if (code === 92 /* \ */ && (value.charCodeAt(i + 1) === 34 || value.charCodeAt(i + 1) === 92)) i++;
        text += value[i];
      }
      i++;
      result = text;
    } else {
      const valueStart = i;
      while (i < value.length && isToken(value.charCodeAt(i))) i++;
      if (i === valueStart) return undefined;
      result = value.slice(valueStart, i);
    }
    // An unreadable `name*=` (unknown charset, a bad escape) is left out alone: `filename` beside it still names the file.
    if (result !== undefined && !params.has(name)) params.set(name, result);
  }
}

/** RFC 8187 `charset'lang'value` with `%xx` escapes; undefined when malformed or the charset is unknown. */
function extendedValue(raw: string): string | undefined {
  const match = /^([^']*)'[^']*'(.*)$/.exec(raw);
  if (!match) return undefined;
  const bytes: number[] = [];
  const text = match[2]!;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%") {
      const byte = Number.parseInt(text.slice(i + 1, i + 3), 16);
      if (!/^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) return undefined;
      bytes.push(byte);
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  try {
    return new TextDecoder(match[1]!.toLowerCase() || "utf-8").decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** The last segment of a path a client may send as a file name (`/` or `\`); `.` and `..` are no name. */
function baseName(path: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const name = path.slice(cut + 1);
  return name === "." || name === ".." ? "" : name;
}
