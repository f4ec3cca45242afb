import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerContext } from "./context.js";
import { HttpError, queryBool, queryInt, queryList, sendJson, unprocessable } from "./http.js";
import { FileSink, type Ingested, sampleTypeOf, TooLargeError } from "./ingest.js";
import { boundaryOf, MultipartError, MultipartParser } from "./multipart.js";
import type { StoredFile } from "./store.js";

/** Files routes, shared by the Mistral and OpenAI SDKs: `POST/GET /v1/files`, `GET/DELETE /v1/files/{id}`, … */

const PURPOSES = new Set(["fine-tune", "batch", "ocr", "assistants", "vision", "user_data", "evals"]);

/** A file as every API describes it: Mistral's UploadFileOut fields plus OpenAI's `status` and Together's fields. */
export function fileJson(file: StoredFile): Record<string, unknown> {
  return {
    id: file.id,
    object: "file",
    bytes: file.bytes,
    created_at: file.created_at,
    filename: file.filename,
    purpose: file.purpose,
    sample_type: file.sample_type,
    source: "upload",
    num_lines: file.num_lines,
    mimetype: file.mimetype,
    signature: file.sha256.slice(0, 16),
    expires_at: file.expires_at,
    visibility: file.visibility,
    status: "processed",
    status_details: null,
    // Together's SDK reads these three.
    FileType: file.file_type ?? (/\.(csv|parquet)$/i.exec(file.filename)?.[1]?.toLowerCase() ?? "jsonl"),
    Processed: true,
    processing_status: "COMPLETED",
  };
}

/** A received file's record: what its bytes told (size, hash, lines, sample type) and the clock, plus `fields`. */
export function storedFile(
  ctx: ServerContext,
  ingested: Ingested,
  fields: Pick<StoredFile, "id" | "filename" | "purpose" | "mimetype"> & Partial<Pick<StoredFile, "visibility" | "expires_at" | "file_type">>,
): StoredFile {
  const now = ctx.now();
  return {
    visibility: "workspace",
    expires_at: null,
    ...fields,
    bytes: ingested.bytes,
    created_at: Math.floor(now / 1000),
    created_ms: now,
    sha256: ingested.sha256,
    num_lines: ingested.numLines,
    sample_type: sampleTypeOf(ingested.firstLine),
  };
}

/** One streamed multipart request: its fields, and the named file part written to `temp` as it arrives. */
export interface MultipartFile {
  fields: Record<string, string>;
  filename: string;
  mimeType: string;
  ingested: Ingested;
}

const MULTIPART_SLACK = 1024 * 1024;

/**
 * Reads a multipart body whose part `fileField` is streamed to `temp` (hashed and counted on the way, refused past
 * `limit` with 413). A malformed body is 400, one without the file part 422. The rest of a refused body is read and
 * dropped so the client can read the answer.
 */
export async function receiveMultipart(ctx: ServerContext, req: IncomingMessage, fileField: string, temp: string, limit: number): Promise<MultipartFile> {
  const type = req.headers["content-type"] ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    throw unprocessable("Expected a multipart/form-data body", ["body"], type, "missing");
  }
  // Room for the boundaries, part headers and small fields around the file: a body longer than the file limit plus
  // this is refused from its Content-Length before a byte reaches the disk, and a chunked one once it gets there.
  const bodyLimit = limit + MULTIPART_SLACK;
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > bodyLimit) {
    throw new HttpError(413, `File too large: the request body is ${declared} bytes; a file may hold at most ${limit}`, { code: "file_too_large", headers: { connection: "close" } });
  }
  let boundary: string;
  try {
    boundary = boundaryOf(type);
  } catch (error) {
    throw new HttpError(400, `malformed multipart request: ${(error as Error).message}`);
  }
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  return new Promise<MultipartFile>((resolve, reject) => {
    let sink: FileSink | undefined;
    let filename = "";
    let mimeType = "application/octet-stream";
    let full = false;
    let settled = false;
    /** After a 413 for the file itself, the rest of the body is read to its end (the answer is already out). */
    let drainAll = false;
    let received = 0;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      const removed = sink ? sink.abort() : rm(temp, { force: true });
      void removed.then(
        () => reject(error),
        () => reject(error),
      );
    };
    const parser = new MultipartParser(boundary, {
      field(name, value) {
        fields[name] = value;
      },
      file(name, partFilename, partType) {
        if (name !== fileField) return undefined;
        filename = partFilename ?? "";
        mimeType = partType;
        const file = new FileSink(temp, limit);
        sink = file;
        return {
          write(chunk) {
            if (!file.write(chunk)) full = true;
          },
        };
      },
    });
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > bodyLimit && !drainAll) {
        // Past what any body of an allowed file can hold: stop reading (the answer closes the connection).
        req.off("data", onData);
        req.pause();
        fail(new HttpError(413, `File too large: the request body passed ${bodyLimit} bytes; a file may hold at most ${limit}`, { code: "file_too_large", headers: { connection: "close" } }));
        return;
      }
      if (settled) return;
      try {
        parser.push(chunk);
      } catch (error) {
        if (error instanceof TooLargeError) {
          drainAll = true;
          fail(new HttpError(413, `File too large: the limit is ${error.limit} bytes`, { code: "file_too_large" }));
        } else if (error instanceof MultipartError) {
          fail(new HttpError(400, `malformed multipart request: ${error.message}`));
        } else {
          fail(error);
        }
        return;
      }
      if (full) {
        full = false;
        req.pause();
        sink!.drained().then(() => {
          if (!settled) req.resume();
        }, fail);
      }
    };
    req.on("data", onData);
    req.on("end", () => {
      if (settled) return;
      try {
        parser.end();
      } catch (error) {
        fail(new HttpError(400, `malformed multipart request: ${(error as Error).message}`));
        return;
      }
      if (!sink) {
        fail(unprocessable("Field required", ["body", fileField], null, "missing"));
        return;
      }
      sink.finish().then((ingested) => {
        if (ctx.faults.wasReset(req)) {
          fail(new HttpError(400, "the connection was reset mid-upload"));
          return;
        }
        settled = true;
        resolve({ fields, filename, mimeType, ingested });
      }, fail);
    });
    // A client that goes away mid-body: nothing half-written is kept.
    req.on("error", () => fail(new HttpError(400, "the client closed the connection mid-upload")));
    req.on("close", () => {
      if (!req.complete) fail(new HttpError(400, "the client closed the connection mid-upload"));
    });
    ctx.faults.watchUpload(req);
  });
}

/** `POST /v1/files`: multipart `file` (+ `purpose`, `visibility`, `expiry`), streamed to disk. */
export async function uploadFile(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const temp = ctx.store.tempPath();
  const part = await receiveMultipart(ctx, req, "file", temp, ctx.limits.fileBytes);
  const purpose = part.fields.purpose ?? "fine-tune";
  if (!PURPOSES.has(purpose)) {
    await rm(temp, { force: true });
    throw unprocessable(`Input should be one of ${[...PURPOSES].map((p) => `'${p}'`).join(", ")}`, ["body", "purpose"], purpose, "enum");
  }
  const filename = part.filename || "file";
  const now = ctx.now();
  const expiry = part.fields.expiry !== undefined && part.fields.expiry !== "" ? Number(part.fields.expiry) : undefined;
  const file = storedFile(ctx, part.ingested, {
    id: randomUUID(),
    filename,
    purpose,
    mimetype: filename.endsWith(".jsonl") ? "application/jsonl" : part.mimeType,
    visibility: part.fields.visibility ?? "workspace",
    expires_at: expiry !== undefined && Number.isFinite(expiry) ? Math.floor(now / 1000) + expiry * 3600 : null,
  });
  // Mistral: the same content under the same name is the same file.
  sendJson(res, 200, ctx.faults.uploadAnswer(fileJson(await ctx.store.addFileOnce(temp, file))));
}

function newestFirst(a: StoredFile, b: StoredFile): number {
  return b.created_ms - a.created_ms || (a.id < b.id ? -1 : 1);
}

/** `GET /v1/files`: Mistral's page/page_size, or OpenAI's cursor (limit/after/order); one answer fits both. */
export function listFiles(ctx: ServerContext, query: URLSearchParams, res: ServerResponse): void {
  let files = [...ctx.store.files.values()];
  const purpose = query.get("purpose");
  if (purpose) files = files.filter((f) => f.purpose === purpose);
  const sampleTypes = queryList(query, "sample_type");
  if (sampleTypes.length > 0) files = files.filter((f) => sampleTypes.includes(f.sample_type));
  const sources = queryList(query, "source");
  if (sources.length > 0) files = files.filter(() => sources.includes("upload"));
  const mimetypes = queryList(query, "mimetypes");
  if (mimetypes.length > 0) files = files.filter((f) => mimetypes.includes(f.mimetype));
  const search = query.get("search");
  if (search) files = files.filter((f) => f.filename.includes(search) || f.id === search);
  files.sort(newestFirst);
  const total = files.length;

  let page: StoredFile[];
  let hasMore: boolean;
  if (query.has("limit") || query.has("after") || query.has("order")) {
    if (query.get("order") === "asc") files.reverse();
    const after = query.get("after");
    if (after) {
      const at = files.findIndex((f) => f.id === after);
      files = at === -1 ? [] : files.slice(at + 1);
    }
    const limit = queryInt(query, "limit", 10_000, 1);
    page = files.slice(0, limit);
    hasMore = files.length > limit;
  } else {
    const size = queryInt(query, "page_size", 100, 1);
    const index = queryInt(query, "page", 0, 0);
    page = files.slice(index * size, index * size + size);
    hasMore = total > (index + 1) * size;
  }
  const body: Record<string, unknown> = {
    object: "list",
    data: page.map(fileJson),
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
    has_more: hasMore,
  };
  if (queryBool(query, "include_total", true)) body.total = total;
  sendJson(res, 200, body);
}

export function findFile(ctx: ServerContext, id: string): StoredFile {
  const file = ctx.store.files.get(id);
  if (!file) throw new HttpError(404, `No file with id ${id}`, { code: "file_not_found", param: "file_id", detail: "Not Found" });
  return file;
}

/** `GET /v1/files/{id}`; `uploadAnswer` when it answers an upload (Together's), which the `lie` switch may alter. */
export function retrieveFile(ctx: ServerContext, id: string, res: ServerResponse, uploadAnswer = false): void {
  const file = { ...fileJson(findFile(ctx, id)), deleted: false };
  sendJson(res, 200, uploadAnswer ? ctx.faults.uploadAnswer(file) : file);
}

export async function deleteFile(ctx: ServerContext, id: string, res: ServerResponse): Promise<void> {
  findFile(ctx, id);
  await ctx.store.deleteFile(id);
  sendJson(res, 200, { id, object: "file", deleted: true });
}

/** `GET /v1/files/{id}/content`: the bytes, streamed, as `application/octet-stream` (Mistral's SDK insists). */
export async function fileContent(ctx: ServerContext, id: string, res: ServerResponse): Promise<void> {
  const file = findFile(ctx, id);
  const path = ctx.store.dataPath(id);
  const size = (await stat(path)).size;
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": size,
    "content-disposition": `attachment; filename="${file.filename.replace(/["\\\r\n]/g, "_")}"`,
  });
  const stream = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.on("error", reject);
    res.on("close", () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

/** `GET /v1/files/{id}/url`: a URL the content can be fetched from (here, the content route itself). */
export function fileUrl(ctx: ServerContext, id: string, query: URLSearchParams, res: ServerResponse): void {
  findFile(ctx, id);
  const hours = queryInt(query, "expiry", 24, 1);
  sendJson(res, 200, { url: ctx.store.signedUrl(ctx.url, id, Math.floor(ctx.now() / 1000) + hours * 3600) });
}
