import { randomBytes, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import type { ServerContext } from "./context.js";
import { fileJson, receiveMultipart, storedFile } from "./files.js";
import { badRequest, HttpError, readJson, sendJson } from "./http.js";
import { ingest } from "./ingest.js";
import type { StoredUpload } from "./store.js";

/** OpenAI's Uploads API: a large file sent in parts of at most 64 MB, assembled in the order the client names. */

function uploadJson(ctx: ServerContext, upload: StoredUpload): Record<string, unknown> {
  const file = upload.file_id ? ctx.store.files.get(upload.file_id) : undefined;
  return {
    id: upload.id,
    object: "upload",
    bytes: upload.bytes,
    created_at: upload.created_at,
    expires_at: upload.expires_at,
    filename: upload.filename,
    purpose: upload.purpose,
    status: upload.status,
    file: file ? fileJson(file) : null,
  };
}

/** The upload, checked to be still pending (an expired one is marked so). */
async function pendingUpload(ctx: ServerContext, id: string): Promise<StoredUpload> {
  const upload = ctx.store.uploads.get(id);
  if (!upload) throw new HttpError(404, `No upload with id ${id}`, { code: "upload_not_found" });
  if (upload.status === "pending" && ctx.now() / 1000 > upload.expires_at) {
    upload.status = "expired";
    await ctx.store.saveUpload(upload);
    await ctx.store.removeUploadParts(upload.id);
  }
  if (upload.status !== "pending") throw badRequest(`the upload is ${upload.status}`);
  return upload;
}

/** `POST /v1/uploads` {filename, purpose, bytes, mime_type} */
export async function createUpload(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  for (const key of ["filename", "purpose", "mime_type"]) {
    if (typeof body[key] !== "string" || body[key] === "") throw badRequest(`\`${key}\` is required and must be a string`, key);
  }
  const bytes = body.bytes;
  if (typeof bytes !== "number" || !Number.isInteger(bytes) || bytes < 1) throw badRequest("`bytes` must be a positive integer", "bytes");
  if (bytes > ctx.limits.uploadBytes) throw badRequest(`an upload may hold at most ${ctx.limits.uploadBytes} bytes`, "bytes");
  const created = Math.floor(ctx.now() / 1000);
  const upload: StoredUpload = {
    id: `upload_${randomBytes(12).toString("hex")}`,
    filename: body.filename as string,
    purpose: body.purpose as string,
    bytes,
    mime_type: body.mime_type as string,
    created_at: created,
    expires_at: created + ctx.limits.uploadSeconds,
    status: "pending",
    parts: [],
    file_id: null,
  };
  await ctx.store.saveUpload(upload);
  sendJson(res, 200, uploadJson(ctx, upload));
}

/** `POST /v1/uploads/{id}/parts`: multipart `data`, at most 64 MB. */
export async function addPart(ctx: ServerContext, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const upload = await pendingUpload(ctx, id);
  const partId = `part_${randomBytes(12).toString("hex")}`;
  const path = ctx.store.partPath(upload.id, partId);
  const part = await receiveMultipart(ctx, req, "data", path, ctx.limits.partBytes);
  const created = Math.floor(ctx.now() / 1000);
  upload.parts.push({ id: partId, bytes: part.ingested.bytes, created_at: created });
  await ctx.store.saveUpload(upload);
  sendJson(res, 200, { id: partId, object: "upload.part", created_at: created, upload_id: upload.id });
}

/** `POST /v1/uploads/{id}/complete` {part_ids, md5?}: the parts, in the given order, become one file. */
export async function completeUpload(ctx: ServerContext, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const upload = await pendingUpload(ctx, id);
  const ids = body.part_ids;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((p) => typeof p === "string")) {
    throw badRequest("`part_ids` must be a non-empty array of part ids", "part_ids");
  }
  if (new Set(ids).size !== ids.length) throw badRequest("`part_ids` names a part twice", "part_ids");
  const parts = (ids as string[]).map((pid) => {
    const part = upload.parts.find((p) => p.id === pid);
    if (!part) throw badRequest(`no part ${pid} in upload ${upload.id}`, "part_ids");
    return part;
  });
  const total = parts.reduce((n, p) => n + p.bytes, 0);
  if (total !== upload.bytes) throw badRequest(`the parts hold ${total} bytes; the upload was created for ${upload.bytes}`, "part_ids");

  // Concatenate the parts as a stream into one file, hashing on the way.
  const joined = new PassThrough();
  const temp = ctx.store.tempPath();
  const done = ingest(joined, temp, ctx.limits.uploadBytes, { md5: typeof body.md5 === "string" && body.md5 !== "" });
  try {
    for (const part of parts) {
      for await (const chunk of createReadStream(ctx.store.partPath(upload.id, part.id))) {
        if (!joined.write(chunk)) await new Promise((resolve) => joined.once("drain", resolve));
      }
    }
    joined.end();
  } catch (error) {
    joined.destroy(error as Error);
  }
  const ingested = await done;
  if (typeof body.md5 === "string" && body.md5 !== "" && body.md5.toLowerCase() !== ingested.md5) {
    await rm(temp, { force: true });
    throw badRequest(`md5 mismatch: the assembled parts hash to ${ingested.md5}, not ${body.md5}`, "md5");
  }
  const file = storedFile(ctx, ingested, { id: randomUUID(), filename: upload.filename, purpose: upload.purpose, mimetype: upload.mime_type });
  await ctx.store.addFile(temp, file);
  upload.status = "completed";
  upload.file_id = file.id;
  await ctx.store.saveUpload(upload);
  await ctx.store.removeUploadParts(upload.id);
  const answer = uploadJson(ctx, upload);
  sendJson(res, 200, { ...answer, file: ctx.faults.uploadAnswer(answer.file as Record<string, unknown>) });
}

/** `POST /v1/uploads/{id}/cancel` */
export async function cancelUpload(ctx: ServerContext, id: string, res: ServerResponse): Promise<void> {
  const upload = await pendingUpload(ctx, id);
  upload.status = "cancelled";
  await ctx.store.saveUpload(upload);
  await ctx.store.removeUploadParts(upload.id);
  sendJson(res, 200, uploadJson(ctx, upload));
}
