import { resolveS3Config, type S3ConfigInput } from "./aws-config.js";
import { ObjectUpload } from "./object-upload.js";
import { type ObjectInfo, S3Client, type S3ClientOptions } from "./s3-client.js";
import { isObjectUrl, objectUrl, parseObjectUrl } from "./s3-url.js";

/**
 * The one S3 client of a process, made on first use from the environment (or from `configureObjectStorage`, which
 * the CLI calls with `--s3-endpoint`). Parts that open a path — the reader, discovery, the shard writer, the
 * uploader — call these functions for `s3://` paths, so an object is a dataset file like any other.
 */

let configured: { input: S3ConfigInput; options: S3ClientOptions } = { input: {}, options: {} };
let client: S3Client | undefined;

/** Sets where object storage is and how it is read (the next use makes a new client). */
export function configureObjectStorage(input: S3ConfigInput = {}, options: S3ClientOptions = {}): void {
  const old = client;
  client = undefined;
  configured = { input, options };
  void old?.close();
}

/** The process's S3 client (credentials resolved now: a usage error when there are none). */
export function objectStorage(): S3Client {
  client ??= new S3Client(resolveS3Config(configured.input), configured.options);
  return client;
}

/** An object's size and ETag. */
export async function statObject(url: string, signal?: AbortSignal): Promise<ObjectInfo> {
  const { bucket, key } = parseObjectUrl(url);
  return objectStorage().head(bucket, key, signal);
}

/** Bytes `start` to `end` (exclusive; default the whole object) of an object, streamed by ranged GETs. */
export function readObject(url: string, options: { start?: number; end?: number; etag?: string; signal?: AbortSignal | undefined } = {}): AsyncGenerator<Uint8Array> {
  const { bucket, key } = parseObjectUrl(url);
  return objectStorage().read(bucket, key, options);
}

/** Every object under a prefix, as `s3://` URLs with size and ETag, in key order (paginated listing). */
export async function* listObjects(url: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo & { url: string }> {
  const { bucket, key } = parseObjectUrl(url);
  for await (const info of objectStorage().list(bucket, key, signal)) yield { ...info, url: objectUrl({ bucket, key: info.key }) };
}

/**
 * Moves an object of `bytes` (asked with a HEAD when not given) to another key of its bucket (copy, then delete the
 * source): how a finished shard gets its name.
 * Up to the client's `copyLimitBytes` (S3: 5 GiB) the copy is server-side, one CopyObject; a larger object is read
 * by ranged GETs into a multipart upload of parts sized for it (its bytes pass through this machine once).
 */
export async function moveObject(from: string, to: string, signal?: AbortSignal, bytes?: number): Promise<void> {
  const a = parseObjectUrl(from);
  const b = parseObjectUrl(to);
  if (a.bucket !== b.bucket) throw new TypeError(`Expected a move within one bucket, got ${from} → ${to}`);
  const s3 = objectStorage();
  const size = bytes ?? (await s3.head(a.bucket, a.key, signal)).size;
  if (size <= s3.copyLimitBytes) {
    await s3.copy(a.bucket, a.key, b.key, signal);
  } else {
    const upload = new ObjectUpload(to, { signal, maxBytes: size });
    try {
      for await (const chunk of s3.read(a.bucket, a.key, { signal })) await upload.write(chunk);
      await upload.finish();
    } catch (error) {
      await upload.abort();
      throw error;
    }
  }
  await s3.delete(a.bucket, a.key, signal);
}

/** Deletes an object; a missing one is not an error. */
export async function deleteObject(url: string, signal?: AbortSignal): Promise<void> {
  const { bucket, key } = parseObjectUrl(url);
  await objectStorage().delete(bucket, key, signal);
}

export { isObjectUrl };
