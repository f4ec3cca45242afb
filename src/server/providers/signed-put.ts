import type { IncomingMessage } from "node:http";
import type { ServerContext } from "../context.js";
import { HttpError } from "../http.js";
import { ingest, type Ingested, TooLargeError } from "../ingest.js";

/**
 * A `PUT` to one of Together's pre-signed URLs — a single upload's or a multipart upload's part — checked as a
 * storage service checks one: the URL's signature and time, then the body's declared and actual length. The URL,
 * signed with the store's secret and expiring, is the authority: such a request carries no API key.
 */

/**
 * What a pre-signed URL names (`subject`), once its `expires` and `signature` hold for what was signed about it
 * (`payload`); else 403 — past its time (`expired`) or altered (`signature_mismatch`). A `subject` undefined is a
 * URL that names nothing, refused as altered.
 */
export function checkSignedUrl<T>(
  ctx: ServerContext,
  query: URLSearchParams,
  subject: T | undefined,
  payload: (subject: T) => string,
  refusal: { expired: string; denied: string },
): T {
  const expires = Number(query.get("expires"));
  if (subject !== undefined && ctx.store.verify(payload(subject), expires, query.get("signature") ?? "", ctx.now())) return subject;
  const expired = Number.isInteger(expires) && expires * 1000 < ctx.now();
  throw new HttpError(403, expired ? refusal.expired : refusal.denied, { code: expired ? "expired" : "signature_mismatch" });
}

/** The body's declared length: a Content-Length is required (411), at most what one PUT takes (413, `tooLarge`). */
export function declaredLength(ctx: ServerContext, req: IncomingMessage, tooLarge: (declared: number) => string): number {
  const declared = Number(req.headers["content-length"]);
  if (req.headers["content-length"] === undefined || !Number.isSafeInteger(declared)) throw new HttpError(411, "Content-Length required", { headers: { connection: "close" } });
  if (declared > ctx.limits.presignedPutBytes) throw new HttpError(413, tooLarge(declared), { code: "file_too_large", headers: { connection: "close" } });
  return declared;
}

/** Streams the body to `temp` (the fault switches watching it): exactly `declared` bytes, else 400. */
export async function receiveBody(ctx: ServerContext, req: IncomingMessage, temp: string, declared: number): Promise<Ingested> {
  ctx.faults.watchUpload(req);
  let ingested: Ingested;
  try {
    ingested = await ingest(req, temp, declared);
  } catch (error) {
    if (error instanceof TooLargeError) throw new HttpError(400, `the body is longer than its Content-Length ${declared}`, { headers: { connection: "close" } });
    throw error;
  }
  if (ingested.bytes !== declared) throw new HttpError(400, `the body ended after ${ingested.bytes} of ${declared} bytes`);
  return ingested;
}
