// Object-storage benchmark (`npm run bench`, part "s3"): peak RSS of `ftprep validate` reading an s3:// object of
// 10 MB and of BENCH_S3_MB (default 200) from a real S3-compatible server (s3rver, a dev dependency, on loopback):
// the object is read by ranged GETs as a stream, so the two figures should be the same.
import { execFile, spawn } from "node:child_process";
import { createReadStream, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { promisify } from "node:util";
import { configureObjectStorage, ObjectUpload } from "../dist/index.js";

export async function s3Bench({ bin, out, dataset }) {
  const bigMb = Number(process.env.BENCH_S3_MB ?? 200);
  console.log(`\n# ftprep validate s3://… — memory (peak RSS, /usr/bin/time -v), objects on s3rver over loopback`);
  const store = join(out, "s3rver");
  rmSync(store, { recursive: true, force: true });
  const server = spawn(process.execPath, ["--openssl-legacy-provider", join(import.meta.dirname, "..", "test", "helpers", "s3rver-process.cjs"), store, "bench"], { stdio: ["ignore", "pipe", "inherit"] });
  const { port } = JSON.parse((await createInterface({ input: server.stdout })[Symbol.asyncIterator]().next()).value);
  const env = { ...process.env, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` };
  Object.assign(process.env, env);
  configureObjectStorage();
  const figures = [];
  try {
    for (const mb of [10, bigMb]) {
      const upload = new ObjectUpload(`s3://bench/chat-${mb}mb.jsonl`);
      for await (const chunk of createReadStream(await dataset(mb))) await upload.write(chunk);
      await upload.finish();
      const { stderr } = await promisify(execFile)("/usr/bin/time", ["-v", bin, "validate", "--json", `s3://bench/chat-${mb}mb.jsonl`], { env, maxBuffer: 1 << 26 }).catch((e) => e);
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) / 1000;
      const wall = /Elapsed \(wall clock\) time.*: (.*)/.exec(stderr)?.[1];
      figures.push(rss);
      console.log(`${mb} MB object: peak RSS ${rss.toFixed(1)} MB, ${wall} wall`);
    }
  } finally {
    server.kill("SIGTERM");
    rmSync(store, { recursive: true, force: true });
  }
  const ratio = figures[1] / figures[0];
  const ok = ratio <= 1.3;
  console.log(`${bigMb} MB / 10 MB: ${ratio.toFixed(2)}× (bound ≤ 1.3×: ${ok ? "met" : "NOT MET"})`);
  return ok;
}
