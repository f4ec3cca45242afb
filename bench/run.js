// ftprep benchmarks (`npm run bench`). Data is generated here; figures are compared within the run, never
// against a fixed wall-clock number.
//   BENCH_LARGE_MB  size of the large file (default 1000 = 1 GB)
//   BENCH_SMALL_MB  size of the small file (default 10)
//   BENCH_SHARD_MB  size of the file the size guard shards (default 1200 = 1.2 GB)
//   BENCH_PARQUET_MB size of the Parquet file converted (default 200)
//   BENCH_ONLY      comma-separated parts to run: validate, workers, shard, server, upload, convert, manifest, tokens, report, s3, queue (default: all)
//   (workers: see bench/workers.js for BENCH_WORKERS_MB, BENCH_WORKERS, BENCH_RUNS, BENCH_DIR_FILES)
//   BENCH_S3_MB     size of the s3:// object validated (default 200)
//   BENCH_QUEUE_UNITS, BENCH_QUEUE_UNIT_MB, BENCH_QUEUE_ROUNDS  units per worker (or a list, 8,24: each size run and fitted), their size and interleaved rounds in the queue benchmark (default 8 of 4 MB, 3 rounds)
//   BENCH_TOKENS_MB size of the tokenizer benchmark's file (default 50)
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { generate } from "./generate.js";
import { serverBench } from "./server.js";
import { uploadBench } from "./upload.js";
import { convertBench } from "./convert.js";
import { manifestBench } from "./manifest.js";
import { tokensBench } from "./tokens.js";
import { reportBench } from "./report.js";
import { workersBench } from "./workers.js";
import { queueBench } from "./queue.js";
import { s3Bench } from "./s3.js";

const run = promisify(execFile);
const here = new URL(".", import.meta.url).pathname;
const out = join(here, "out");
const bin = join(here, "..", "bin", "ftprep.js");
const largeMb = Number(process.env.BENCH_LARGE_MB ?? 1000);
const smallMb = Number(process.env.BENCH_SMALL_MB ?? 10);
const shardMb = Number(process.env.BENCH_SHARD_MB ?? 1200);
const parquetMb = Number(process.env.BENCH_PARQUET_MB ?? 200);
const only = new Set((process.env.BENCH_ONLY ?? "validate,workers,shard,server,upload,convert,manifest,tokens,report,s3,queue").split(","));
//   BENCH_TOKENS_MB size of the tokenizer benchmark's file (default 50)
const TIME = "/usr/bin/time";

if (!existsSync(TIME)) {
  console.error(`${TIME} is needed to measure peak RSS (Debian package "time": apt-get install time)`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

async function dataset(mb) {
  const path = join(out, `chat-${mb}mb.jsonl`);
  if (!existsSync(path) || Math.abs(statSync(path).size - mb * 1e6) > 1e6) {
    process.stderr.write(`generating ${path} …\n`);
    await generate(path, mb * 1e6);
  }
  return path;
}

/** Peak RSS (MB) and wall time of one CLI run, read from GNU time's -v report. */
async function peakRss(args) {
  // The bin itself, as users run it: its shebang carries the V8 flags that keep memory flat.
  const { stderr } = await run(TIME, ["-v", bin, ...args], { maxBuffer: 64 << 20 }).catch((e) => e);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
  if (!kb) throw new Error(`no RSS figure in:\n${stderr}`);
  return kb / 1000;
}

async function timed(mode, file) {
  const { stdout } = await run(process.execPath, [join(here, "speed.js"), mode, file]);
  return JSON.parse(stdout);
}

/** Peak RSS (MB) and stdout of one CLI run. */
async function peakRssWithOutput(args) {
  const { stdout, stderr } = await run(TIME, ["-v", bin, ...args], { maxBuffer: 256 << 20 }).catch((e) => e);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
  if (!kb) throw new Error(`no RSS figure in:\n${stderr}`);
  return { rss: kb / 1000, stdout };
}

async function sha256Of(paths) {
  const hash = createHash("sha256");
  for (const path of paths) for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest("hex");
}

const small = await dataset(smallMb);
// One thread here (the default is every core from 32 MiB of input): the workers part measures 2 workers the same way.
const rssSmall = await peakRss(["validate", "--json", "--workers", "1", small]);
let ok = true;

if (only.has("validate")) {
  const large = await dataset(largeMb);
  const records = (await timed("baseline", small)).records;
  console.log(`# ftprep validate — memory (peak RSS, /usr/bin/time -v)`);
  const rssLarge = await peakRss(["validate", "--json", "--workers", "1", large]);
  const ratio = rssLarge / rssSmall;
  console.log(`${smallMb} MB file (${records} records): ${rssSmall.toFixed(1)} MB`);
  console.log(`${largeMb} MB file: ${rssLarge.toFixed(1)} MB  (${ratio.toFixed(2)}× the ${smallMb} MB figure)`);
  const memoryOk = rssLarge <= 150 && ratio <= 1.3;
  ok &&= memoryOk;
  console.log(`bound (≤ 150 MB and ≤ 1.3×): ${memoryOk ? "met" : "NOT MET"}`);
  const rssDup = await peakRss(["validate", "--json", "--workers", "1", "--duplicates", large]);
  console.log(`${largeMb} MB file with --duplicates (grows by 21–43 bytes per distinct record): ${rssDup.toFixed(1)} MB`);

  console.log(`\n# ftprep validate — speed vs a bare split-lines + JSON.parse loop, same file, same run`);
  const best = { baseline: Infinity, ftprep: Infinity };
  for (let round = 0; round < 2; round++) {
    for (const mode of ["baseline", "ftprep"]) {
      const r = await timed(mode, large);
      best[mode] = Math.min(best[mode], r.seconds);
    }
  }
  const mbps = (s) => (largeMb / s).toFixed(0);
  console.log(`baseline: ${best.baseline.toFixed(2)} s (${mbps(best.baseline)} MB/s)`);
  console.log(`ftprep:   ${best.ftprep.toFixed(2)} s (${mbps(best.ftprep)} MB/s)`);
  console.log(`throughput ratio ftprep / baseline: ${(best.baseline / best.ftprep).toFixed(2)}× (ftprep timed once its modules are loaded; medians of both profiles: BENCH_ONLY=workers)`);
}
if (only.has("workers")) {
  ok = (await workersBench({ bin, out, dataset, smallMb })) && ok;
}

if (only.has("shard")) {
  console.log(`\n# ftprep prepare — sharding a ${shardMb} MB file under the default limit`);
  const source = await dataset(shardMb);
  const shardDir = join(out, "shards");
  rmSync(shardDir, { recursive: true, force: true });
  const { rss, stdout } = await peakRssWithOutput(["prepare", source, "--out", shardDir, "--json"]);
  const plan = JSON.parse(stdout);
  const sizes = plan.files.map((f) => f.bytes);
  console.log(`shards: ${plan.files.length} (${sizes.map((b) => (b / 1e6).toFixed(1) + " MB").join(", ")}), limit ${plan.max_file_bytes} bytes`);
  const withinLimit = sizes.every((b) => b <= plan.max_file_bytes);
  const same = (await sha256Of(plan.files.map((f) => f.path))) === (await sha256Of([source]));
  console.log(`every shard ≤ the limit: ${withinLimit ? "yes" : "NO"}; concatenation byte-identical to the source (sha256): ${same ? "yes" : "NO"}`);
  const ratio = rss / rssSmall;
  const memoryOk = rss <= 150 && ratio <= 1.3;
  console.log(`peak RSS while sharding: ${rss.toFixed(1)} MB (${ratio.toFixed(2)}× the ${smallMb} MB validation figure; bound ≤ 150 MB and ≤ 1.3×: ${memoryOk ? "met" : "NOT MET"})`);
  ok &&= withinLimit && same && memoryOk && plan.files.length === Math.ceil(statSync(source).size / plan.max_file_bytes);
}
if (only.has("server")) {
  ok = (await serverBench({ bin, out, dataset })) && ok;
}
if (only.has("upload")) {
  ok = (await uploadBench({ bin, out, dataset })) && ok;
}
if (only.has("convert")) {
  ok = (await convertBench({ bin, here, out, dataset, smallMb, largeMb, parquetMb })) && ok;
}
if (only.has("manifest")) {
  ok = (await manifestBench({ out })) && ok;
}
if (only.has("tokens")) {
  ok = (await tokensBench({ bin, out })) && ok;
}
if (only.has("report")) {
  ok = (await reportBench({ here, bin, dataset, largeMb })) && ok;
}
if (only.has("s3")) {
  ok = (await s3Bench({ bin, out, dataset })) && ok;
}
if (only.has("queue")) {
  ok = (await queueBench({ bin, out })) && ok;
}
process.exitCode = ok ? 0 : 1;
