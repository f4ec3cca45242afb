import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { resolveS3Config } from "../../src/storage/aws-config.js";
import { configureObjectStorage } from "../../src/storage/object-storage.js";
import { S3Client, type S3ClientOptions } from "../../src/storage/s3-client.js";

/** s3rver's own key pair: it checks every request's Signature V4 against it, as S3 does. */
export const S3_KEY = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

export interface LocalS3 {
  endpoint: string;
  /** Environment for a child process (or this one) to reach it: credentials and endpoint. */
  env: Record<string, string>;
  /** A client of its own (for setting up data and checking results). */
  client: (options?: S3ClientOptions) => S3Client;
  put: (bucket: string, key: string, body: string | Uint8Array) => Promise<void>;
  /** Every key under a prefix. */
  keys: (bucket: string, prefix?: string) => Promise<string[]>;
  read: (bucket: string, key: string) => Promise<Buffer>;
}

/**
 * Starts a real S3-compatible server (s3rver, a dev dependency) on 127.0.0.1, a random port, with the given buckets,
 * before the file's tests, and points this process's object storage at it; stops it after them.
 */
export function useS3(buckets: string[]): () => LocalS3 {
  let server: ChildProcess | undefined;
  let dir = "";
  let s3: LocalS3 | undefined;
  const saved = { ...process.env };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ftprep-s3rver-"));
    const script = fileURLToPath(new URL("./s3rver-process.cjs", import.meta.url));
    server = spawn(process.execPath, ["--openssl-legacy-provider", script, dir, ...buckets], { stdio: ["ignore", "pipe", "inherit"] });
    const first = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
    const line = await Promise.race([first.next(), once(server, "exit").then(() => ({ value: undefined }))]);
    if (typeof line.value !== "string") throw new Error("s3rver did not start");
    const { port } = JSON.parse(line.value) as { port: number };
    const endpoint = `http://127.0.0.1:${port}`;
    const env = { ...S3_KEY, AWS_ENDPOINT_URL: endpoint, AWS_REGION: "us-east-1" };
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    configureObjectStorage();
    const client = (options?: S3ClientOptions) => new S3Client(resolveS3Config({ env: { ...env, HOME: dir } }), options);
    const own = client();
    s3 = {
      endpoint,
      env,
      client,
      put: async (bucket, key, body) => void (await own.put(bucket, key, typeof body === "string" ? Buffer.from(body) : body)),
      keys: async (bucket, prefix = "") => {
        const out: string[] = [];
        for await (const o of own.list(bucket, prefix)) out.push(o.key);
        return out;
      },
      read: async (bucket, key) => {
        const parts: Uint8Array[] = [];
        for await (const chunk of own.read(bucket, key)) parts.push(Uint8Array.from(chunk));
        return Buffer.concat(parts);
      },
    };
  });
  afterAll(async () => {
    configureObjectStorage();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await once(server, "exit");
    }
    await rm(dir, { recursive: true, force: true });
  });
  return () => s3!;
}
