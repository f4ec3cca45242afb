import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerContext } from "../context.js";
import { storedFile } from "../files.js";
import { HttpError } from "../http.js";
import { checkSignedUrl, declaredLength, receiveBody } from "./signed-put.js";
import type { Store } from "../store.js";

/**
 * Together AI's upload protocol (as its `together-ai` SDK speaks it): `POST /v1/files` with `file_name`,
 * `file_type` and `purpose` as an urlencoded form is answered 302 with a pre-signed URL and the new file's id in
 * `x-together-file-id`; the bytes then go in one `PUT` to that URL, which carries no API key — the URL, signed
 * with the store's secret and expiring, is the authority. Listing, retrieving, deleting and downloading are the
 * shared files routes (their file objects carry Together's fields).
 */

export const FILE_TYPES = new Set(["jsonl", "csv", "parquet"]);
export const PURPOSES = new Set(["fine-tune", "eval", "batch-api"]);
/** The `mimetype` a file of each `file_type` is stored with. */
export const MIMETYPES: Readonly<Record<string, string>> = { jsonl: "application/jsonl", csv: "text/csv", parquet: "application/vnd.apache.parquet" };
const FORM_LIMIT = 64 * 1024;

/** Whether a `POST /v1/files` is Together's: the urlencoded form is its own mark (the others send multipart). */
export function isTogetherUpload(req: IncomingMessage): boolean {
  return (req.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded");
}

/**
 * Whether a request is a PUT to a pre-signed URL — a single upload's or a multipart upload's part: it needs no API
 * key (the handler checks its signature).
 */
export function isPresignedPut(method: string, pathname: string): boolean {
  return method === "PUT" && /^\/v1\/files\/[^/]+\/(upload|parts)$/.test(pathname);
}

/** What the signature of an upload URL covers: the file id and everything that becomes the file's record. */
function payload(id: string, fileName: string, fileType: string, purpose: string): string {
  return ["together-put", id, fileName, fileType, purpose].join("\n");
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let text = "";
  for await (const chunk of req as AsyncIterable<Buffer>) {
    text += chunk.toString("utf8");
    if (text.length > FORM_LIMIT) throw new HttpError(413, "request body too large");
  }
  return new URLSearchParams(text);
}

/** `POST /v1/files` (urlencoded): answers 302 to a pre-signed PUT URL on this server, the id in a header. */
export async function startUpload(ctx: ServerContext, req: IncomingMessage, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const form = await readForm(req);
  // The SDK sends the parameters both in the query and as the body; either is enough.
  const param = (name: string): string => query.get(name) ?? form.get(name) ?? "";
  const fileName = param("file_name");
  const fileType = param("file_type");
  const purpose = param("purpose");
  if (fileName === "" || fileName.length > 1024) throw new HttpError(400, "file_name is required (at most 1024 characters)", { param: "file_name" });
  if (!FILE_TYPES.has(fileType)) throw new HttpError(400, `file_type must be one of ${[...FILE_TYPES].join(", ")}`, { param: "file_type" });
  if (!PURPOSES.has(purpose)) throw new HttpError(400, `purpose must be one of ${[...PURPOSES].join(", ")}`, { param: "purpose" });
  const id = `file-${randomUUID()}`;
  const expires = Math.floor(ctx.now() / 1000) + ctx.limits.presignedUrlSeconds;
  const signature = ctx.store.sign(payload(id, fileName, fileType, purpose), expires);
  const params = new URLSearchParams({ file_name: fileName, file_type: fileType, purpose, expires: String(expires), signature });
  res.writeHead(302, { location: `${ctx.url}/v1/files/${encodeURIComponent(id)}/upload?${params}`, "x-together-file-id": id, "content-length": 0 });
  res.end();
}

/** Ids whose bytes are arriving, per store: a second PUT to the same URL while the first runs is refused. */
const receiving = new WeakMap<Store, Set<string>>();
/** Ids uploaded and not yet retrieved: the `GET /files/{id}` that follows a PUT is the upload's answer. */
const unanswered = new WeakMap<Store, Set<string>>();

/** Whether this retrieval is the answer to a Together upload (the fault switch `lie` applies to it), once. */
export function isUploadAnswer(ctx: ServerContext, id: string): boolean {
  return unanswered.get(ctx.store)?.delete(id) ?? false;
}

/** `PUT /v1/files/{id}/upload?…&expires&signature`: the bytes, streamed to disk, with their Content-Length. */
export async function receiveUpload(ctx: ServerContext, id: string, req: IncomingMessage, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const fileName = query.get("file_name") ?? "";
  const fileType = query.get("file_type") ?? "";
  const purpose = query.get("purpose") ?? "";
  checkSignedUrl(ctx, query, id, () => payload(id, fileName, fileType, purpose), {
    expired: "Request has expired: ask for a new upload URL",
    denied: "Access denied: the upload URL's signature does not match",
  });
  const declared = declaredLength(ctx, req, (n) => `File too large: ${n} bytes; one upload takes at most ${ctx.limits.presignedPutBytes}`);
  const busy = receiving.get(ctx.store) ?? new Set<string>();
  receiving.set(ctx.store, busy);
  if (ctx.store.files.has(id) || busy.has(id)) throw new HttpError(409, `the file ${id} has already been uploaded`, { code: "conflict" });
  busy.add(id);
  const temp = ctx.store.tempPath();
  try {
    const ingested = await receiveBody(ctx, req, temp, declared);
    if (ctx.faults.wasReset(req)) throw new HttpError(400, "the connection was reset mid-upload");
    const file = storedFile(ctx, ingested, {
      id,
      filename: fileName,
      purpose,
      mimetype: MIMETYPES[fileType]!,
      file_type: fileType,
    });
    // Not `addFileOnce`: the client was given this id before sending, and retrieves the file by it.
    await ctx.store.addFile(temp, file);
    const pending = unanswered.get(ctx.store) ?? new Set<string>();
    unanswered.set(ctx.store, pending);
    pending.add(id);
    res.writeHead(200, { "content-length": 0, etag: `"${ingested.sha256.slice(0, 32)}"` });
    res.end();
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    busy.delete(id);
  }
}
