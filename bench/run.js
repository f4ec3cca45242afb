// ftprep benchmarks (`npm run bench`). Data is generated here; figures are compared within the run, never
// against a fixed wall-clock number.
//   BENCH_LARGE_MB  size of the large file (default 1000 = 1 GB)
//   BENCH_SMALL_MB  size of the small file (default 10)
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { generate } from "./generate.js";

const run = promisify(execFile);
const here = new URL(".", import.meta.url).pathname;
const out = join(here, "out");
const bin = join(here, "..", "bin", "ftprep.js");
const largeMb = Number(process.env.BENCH_LARGE_MB ?? 1000);
const smallMb = Number(process.env.BENCH_SMALL_MB ?? 10);
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
  const { stderr } = await run(TIME, ["-v", process.execPath, bin, ...args], { maxBuffer: 64 << 20 }).catch((e) => e);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
  if (!kb) throw new Error(`no RSS figure in:\n${stderr}`);
  return kb / 1000;
}

async function timed(mode, file) {
  const { stdout } = await run(process.execPath, [join(here, "speed.js"), mode, file]);
  return JSON.parse(stdout);
}

const small = await dataset(smallMb);
const large = await dataset(largeMb);
const records = (await timed("baseline", small)).records;

console.log(`# ftprep validate — memory (peak RSS, /usr/bin/time -v)`);
const rssSmall = await peakRss(["validate", "--json", small]);
const rssLarge = await peakRss(["validate", "--json", large]);
const ratio = rssLarge / rssSmall;
console.log(`${smallMb} MB file (${records} records): ${rssSmall.toFixed(1)} MB`);
console.log(`${largeMb} MB file: ${rssLarge.toFixed(1)} MB  (${ratio.toFixed(2)}× the ${smallMb} MB figure)`);
const memoryOk = rssLarge <= 150 && ratio <= 1.3;
console.log(`bound (≤ 150 MB and ≤ 1.3×): ${memoryOk ? "met" : "NOT MET"}`);
const rssDup = await peakRss(["validate", "--json", "--duplicates", large]);
console.log(`${largeMb} MB file with --duplicates (grows by 21–43 bytes per distinct record): ${rssDup.toFixed(1)} MB`);

console.log(`\n# ftprep validate — speed vs a bare split-lines + JSON.parse loop, same file, same run`);
let best = { baseline: Infinity, ftprep: Infinity };
for (let round = 0; round < 2; round++) {
  for (const mode of ["baseline", "ftprep"]) {
    const r = await timed(mode, large);
    best[mode] = Math.min(best[mode], r.seconds);
  }
}
const mbps = (s) => (largeMb / s).toFixed(0);
console.log(`baseline: ${best.baseline.toFixed(2)} s (${mbps(best.baseline)} MB/s)`);
console.log(`ftprep:   ${best.ftprep.toFixed(2)} s (${mbps(best.ftprep)} MB/s)`);
console.log(`throughput ratio ftprep / baseline: ${(best.baseline / best.ftprep).toFixed(2)}× (target later: ≥ 0.85×)`);
process.exitCode = memoryOk ? 0 : 1;
