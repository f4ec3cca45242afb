import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ServerContext } from "../context.js";
import { fileJson, storedFile } from "../files.js";
import { badRequest as bad, HttpError, readJson, sendJson } from "../http.js";
import { ingest } from "../ingest.js";
import { checkSignedUrl, declaredLength, receiveBody } from "./signed-put.js";
import type { Store } from "../store.js";
import { FILE_TYPES, MIMETYPES, PURPOSES } from "./together.js";

/**
 * Together AI's multipart upload, for files past one PUT's limit (as together-python's `MultipartUploadManager`
 * speaks it): `POST /v1/files/multipart/initiate` with the name, size, part count, purpose and type answers the
 * upload's id, the file's id and one pre-signed `PUT` URL per part (signed and expiring, as the single upload's);
 * each part answers its ETag; `POST /v1/files/multipart/complete` with the ordered `{part_number, etag}` list joins
 * the parts into the file, `POST /v1/files/multipart/abort` drops them. Uploads in progress live in this process:
 * a restarted server has forgotten them, and the client starts over.
 */

interface Part {
  path: string;
  bytes: number;
  etag: string;
}

interface Upload {
  id: string;
  fileId: string;
  fileName: string;
  fileType: string;
  purpose: string;
  fileSize: number;
  numParts: number;
  expires: number;
  parts: Map<number, Part>;
}

/** Uploads in progress, per store. */
const uploads = new WeakMap<Store, Map<string, Upload>>();

function uploadsOf(ctx: ServerContext): Map<string, Upload> {
  let map = uploads.get(ctx.store);
  if (!map) uploads.set(ctx.store, (map = new Map()));
  return map;
}

function payload(upload: Upload, part: number): string {
  return ["together-part", upload.id, upload.fileId, String(part)].join("\n");
}

/** `POST /v1/files/multipart/initiate` */
export async function initiateMultipart(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const { file_name: fileName, file_size: fileSize, num_parts: numParts, purpose, file_type: fileType } = body;
  if (typeof fileName !== "string" || fileName === "" || fileName.length > 1024) throw bad("file_name is required (at most 1024 characters)", "file_name");
  if (typeof fileType !== "string" || !FILE_TYPES.has(fileType)) throw bad(`file_type must be one of ${[...FILE_TYPES].join(", ")}`, "file_type");
  if (typeof purpose !== "string" || !PURPOSES.has(purpose)) throw bad(`purpose must be one of ${[...PURPOSES].join(", ")}`, "purpose");
  if (typeof fileSize !== "number" || !Number.isSafeInteger(fileSize) || fileSize < 1) throw bad("file_size must be a positive integer", "file_size");
  if (fileSize > ctx.limits.togetherFileBytes) {
    throw new HttpError(413, `File too large: ${fileSize} bytes; Together takes files of at most ${ctx.limits.togetherFileBytes}`, { code: "file_too_large" });
  }
  if (typeof numParts !== "number" || !Number.isInteger(numParts) || numParts < 1 || numParts > ctx.limits.togetherMaxParts || numParts > fileSize) {
    throw bad(`num_parts must be an integer from 1 to ${ctx.limits.togetherMaxParts} (and at most file_size)`, "num_parts");
  }
  if (Math.ceil(fileSize / numParts) > ctx.limits.presignedPutBytes) throw bad(`parts of ${Math.ceil(fileSize / numParts)} bytes are over the ${ctx.limits.presignedPutBytes} one PUT takes: use more parts`, "num_parts");
  const upload: Upload = {
    id: `mpu-${randomUUID()}`,
    fileId: `file-${randomUUID()}`,
    fileName,
    fileType,
    purpose,
    fileSize,
    numParts,
    expires: Math.floor(ctx.now() / 1000) + ctx.limits.presignedUrlSeconds,
    parts: new Map(),
  };
  uploadsOf(ctx).set(upload.id, upload);
  const parts = Array.from({ length: numParts }, (_, i) => {
    const n = i + 1;
    const query = new URLSearchParams({ upload_id: upload.id, part_number: String(n), expires: String(upload.expires), signature: ctx.store.sign(payload(upload, n), upload.expires) });
    return { PartNumber: n, URL: `${ctx.url}/v1/files/${encodeURIComponent(upload.fileId)}/parts?${query}`, Headers: {} };
  });
  sendJson(res, 200, { upload_id: upload.id, file_id: upload.fileId, parts });
}

/** `PUT /v1/files/{id}/parts?upload_id&part_number&expires&signature`: one part's bytes, with its Content-Length. */
export async function receivePart(ctx: ServerContext, fileId: string, req: IncomingMessage, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const found = uploadsOf(ctx).get(query.get("upload_id") ?? "");
  const n = Number(query.get("part_number"));
  const named = found !== undefined && found.fileId === fileId && Number.isInteger(n) && n >= 1 && n <= found.numParts ? found : undefined;
  const upload = checkSignedUrl(ctx, query, named, (u) => payload(u, n), {
    expired: "Request has expired: start the upload again",
    denied: "Access denied: no such upload part, or the URL's signature does not match",
  });
  const declared = declaredLength(ctx, req, (bytes) => `Part too large: ${bytes} bytes`);
  const temp = ctx.store.tempPath();
  try {
    const ingested = await receiveBody(ctx, req, temp, declared);
    const etag = ingested.sha256.slice(0, 32);
    // A part sent again replaces the one before (as a storage service does).
    const before = upload.parts.get(n);
    upload.parts.set(n, { path: temp, bytes: ingested.bytes, etag });
    if (before) await rm(before.path, { force: true });
    res.writeHead(200, { "content-length": 0, etag: `"${etag}"` });
    res.end();
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function dropParts(upload: Upload): Promise<void> {
  await Promise.all([...upload.parts.values()].map((p) => rm(p.path, { force: true })));
  upload.parts.clear();
}

function uploadOf(ctx: ServerContext, body: Record<string, unknown>): Upload {
  const upload = uploadsOf(ctx).get(typeof body.upload_id === "string" ? body.upload_id : "");
  if (!upload || upload.fileId !== body.file_id) throw new HttpError(404, `no multipart upload ${JSON.stringify(body.upload_id ?? null)} of file ${JSON.stringify(body.file_id ?? null)}`, { code: "not_found" });
  return upload;
}

/** `POST /v1/files/multipart/complete`: every part, in order, with the ETag it was answered; the file's object. */
export async function completeMultipart(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const upload = uploadOf(ctx, body);
  const listed = body.parts;
  if (!Array.isArray(listed) || listed.length !== upload.numParts) throw bad(`parts must list all ${upload.numParts} parts`, "parts");
  const order: Part[] = [];
  for (let i = 0; i < listed.length; i++) {
    const entry = listed[i] as { part_number?: unknown; etag?: unknown } | null;
    const part = upload.parts.get(i + 1);
    if (entry?.part_number !== i + 1) throw bad(`parts[${i}] must be part ${i + 1} (parts in order)`, "parts");
    if (!part) throw bad(`part ${i + 1} was never uploaded`, "parts");
    if (typeof entry.etag !== "string" || entry.etag.replace(/"/g, "") !== part.etag) throw bad(`part ${i + 1}'s etag does not match the part uploaded`, "parts");
    order.push(part);
  }
  const total = order.reduce((n, p) => n + p.bytes, 0);
  if (total !== upload.fileSize) throw bad(`the parts hold ${total} bytes, not the file_size ${upload.fileSize} the upload was started with`, "parts");
  const temp = ctx.store.tempPath();
  try {
    const joined = Readable.from(
      (async function* () {
        for (const part of order) yield* createReadStream(part.path);
      })(),
    );
    const ingested = await ingest(joined, temp, upload.fileSize);
    const file = storedFile(ctx, ingested, { id: upload.fileId, filename: upload.fileName, purpose: upload.purpose, mimetype: MIMETYPES[upload.fileType]!, file_type: upload.fileType });
    await ctx.store.addFile(temp, file);
    uploadsOf(ctx).delete(upload.id);
    await dropParts(upload);
    sendJson(res, 200, fileJson(file));
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** `POST /v1/files/multipart/abort`: the parts are dropped, the upload forgotten. */
export async function abortMultipart(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const upload = uploadOf(ctx, await readJson(req));
  uploadsOf(ctx).delete(upload.id);
  await dropParts(upload);
  sendJson(res, 200, { upload_id: upload.id, file_id: upload.fileId, status: "aborted" });
}
