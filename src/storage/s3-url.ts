import { dirname, join, posix } from "node:path";
import { ConfigError } from "../errors.js";

/**
 * `s3://bucket/key` locations. A dataset path, an output directory or a plan's source may be one of these instead
 * of a local path; every part that opens a path asks `isObjectUrl` first. Keys are kept as written (S3 keys are
 * byte strings; `a//b` and `a/./b` are different objects), only `joinLocation` normalises what ftprep appends.
 */

/** A parsed `s3://bucket/key` (the key may be empty, or a prefix ending in `/`). */
export interface ObjectLocation {
  bucket: string;
  key: string;
}

const SCHEME = "s3://";
/** S3's bucket naming rules (3–63 characters, lower case, digits, dots and hyphens, a letter or digit at each end). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Whether a path is an object-storage location (`s3://…`). */
export function isObjectUrl(path: string): boolean {
  return path.startsWith(SCHEME);
}

/** Parses `s3://bucket/key`; a usage error (one line, naming the location) when it is not one. */
export function parseObjectUrl(url: string): ObjectLocation {
  if (!isObjectUrl(url)) throw new ConfigError(`not an s3:// location: ${url}`);
  const rest = url.slice(SCHEME.length);
  const slash = rest.indexOf("/");
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? "" : rest.slice(slash + 1);
  if (!BUCKET.test(bucket) || bucket.includes("..")) {
    throw new ConfigError(`${url}: "${bucket}" is not a valid S3 bucket name (3–63 characters: a-z, 0-9, ".", "-")`);
  }
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new ConfigError(`${url}: an object key may not hold control characters`);
  if (Buffer.byteLength(key, "utf8") > 1024) throw new ConfigError(`${url}: an object key is at most 1024 bytes`);
  return { bucket, key };
}

/** `s3://bucket/key` from its parts. */
export function objectUrl(location: ObjectLocation): string {
  return `${SCHEME}${location.bucket}/${location.key}`;
}

/**
 * Joins path segments onto a local path or an `s3://` location: posix rules on the key for a location (`.` and
 * empty segments dropped), `path.join` otherwise — `path.join` would turn `s3://b` into `s3:/b`.
 */
export function joinLocation(base: string, ...segments: string[]): string {
  if (!isObjectUrl(base)) return join(base, ...segments);
  const { bucket, key } = parseObjectUrl(base);
  const joined = posix.join(key === "" ? "." : key, ...segments);
  return objectUrl({ bucket, key: joined === "." ? "" : joined.replace(/^\/+/, "") });
}

/** The directory part of a local path or an `s3://` location. */
export function dirnameLocation(path: string): string {
  if (!isObjectUrl(path)) return dirname(path);
  const { bucket, key } = parseObjectUrl(path);
  const dir = posix.dirname(key);
  return objectUrl({ bucket, key: dir === "." ? "" : dir });
}
