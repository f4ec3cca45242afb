// Worker benchmark (`BENCH_ONLY=workers npm run bench`): one file validated by N workers against one thread and
// against the bare split + JSON.parse loop, on both generated profiles (plain ASCII chat, and varied multilingual
// chat text); the same with exact token counting; peak RSS with 2 workers from a 10 MB to the large file; a
// directory of 10,000 small files against one file of the same size. Each figure is the median of BENCH_RUNS runs
// (default 5), each run in its own process, the modes interleaved so load changes hit them alike.
//   BENCH_WORKERS_MB         file size of the speed runs (default 200; the README's 1 GB figures: 1000)
//   BENCH_WORKERS_TOKENS_MB  file size of the token-counting runs (default 30)
//   BENCH_WORKERS            N (default: os.availableParallelism())
//   BENCH_RUNS               runs per mode (default 5)
//   BENCH_DIR_FILES          files of the directory run (default 10,000; 10 kB each)
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generate } from "./generate.js";
import { generateTokenData } from "./token-data.js";

const run = promisify(execFile);
const here = new URL(".", import.meta.url).pathname;

async function timed(args) {
  const { stdout } = await run(process.execPath, [join(here, "speed.js"), ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median seconds of each mode, the modes interleaved run by run. */
async function medians(modes, runs) {
  const seconds = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
  for (let r = 0; r < runs; r++) for (const [name, args] of Object.entries(modes)) seconds[name].push((await timed(args)).seconds);
  return Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, median(v)]));
}

async function ensure(path, mb, make) {
  if (!existsSync(path) || Math.abs(statSync(path).size - mb * 1e6) > 1e6) {
    process.stderr.write(`generating ${path} …\n`);
    await make(path, mb * 1e6);
  }
  return path;
}

async function peakRss(bin, args) {
  const { stderr } = await run("/usr/bin/time", ["-v", bin, ...args], { maxBuffer: 64 << 20 }).catch((e) => e);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
  if (!kb) throw new Error(`no RSS figure in:\n${stderr}`);
  return kb / 1000;
}

export async function workersBench({ bin, out, dataset, smallMb }) {
  const mb = Number(process.env.BENCH_WORKERS_MB ?? 200);
  const tokensMb = Number(process.env.BENCH_WORKERS_TOKENS_MB ?? 30);
  const n = Number(process.env.BENCH_WORKERS ?? availableParallelism());
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const dirFiles = Number(process.env.BENCH_DIR_FILES ?? 10_000);
  let ok = true;
  const profiles = [
    ["plain ASCII chat", await ensure(join(out, `chat-${mb}mb.jsonl`), mb, generate)],
    ["multilingual chat", await ensure(join(out, `tokens-${mb}mb.jsonl`), mb, generateTokenData)],
  ];
  console.log(`\n# workers — ${mb} MB files, median of ${runs} runs each (seconds after module loading), ${n} workers, ${availableParallelism()} cores`);
  for (const [name, file] of profiles) {
    const m = await medians({ baseline: ["baseline", file], one: ["ftprep", file], many: ["workers", String(n), file] }, runs);
    const rate = (s) => `${(mb / s).toFixed(0)} MB/s`;
    console.log(`${name}: bare loop ${m.baseline.toFixed(2)} s (${rate(m.baseline)}), 1 thread ${m.one.toFixed(2)} s (${rate(m.one)}), ${n} workers ${m.many.toFixed(2)} s (${rate(m.many)})`);
    const single = m.baseline / m.one;
    const speedup = m.one / m.many;
    console.log(`  1 thread / bare loop: ${single.toFixed(2)}× (target ≥ 0.9×: ${single >= 0.9 ? "met" : "NOT MET"}); ${n} workers / 1 thread: ${speedup.toFixed(2)}× (target for 2 workers ≥ 1.7×: ${speedup >= 1.7 ? "met" : "NOT MET"}); ${n} workers / bare loop: ${(m.baseline / m.many).toFixed(2)}×`);
  }
  const tokensFile = await ensure(join(out, `tokens-${tokensMb}mb.jsonl`), tokensMb, generateTokenData);
  const model = "gpt-4o-mini-2024-07-18";
  const t = await medians({ one: ["ftprep", tokensFile, model], many: ["workers", String(n), tokensFile, model] }, runs);
  const tokenSpeedup = t.one / t.many;
  console.log(`exact token counting (--model ${model}), ${tokensMb} MB multilingual: 1 thread ${t.one.toFixed(2)} s, ${n} workers ${t.many.toFixed(2)} s (each worker reads the cached tokenizer table): ${tokenSpeedup.toFixed(2)}× (target for 2 workers on 1 GB ≥ 1.85×)`);

  const small = await dataset(smallMb);
  const rssSmall = await peakRss(bin, ["validate", "--json", "--workers", "2", small]);
  const rssLarge = await peakRss(bin, ["validate", "--json", "--workers", "2", profiles[0][1]]);
  const rssOk = rssLarge <= 250 && rssLarge / rssSmall <= 1.3;
  ok &&= rssOk;
  console.log(`peak RSS, validate --workers 2: ${smallMb} MB ${rssSmall.toFixed(1)} MB, ${mb} MB ${rssLarge.toFixed(1)} MB (${(rssLarge / rssSmall).toFixed(2)}×; bound ≤ 250 MB and ≤ 1.3×: ${rssOk ? "met" : "NOT MET"})`);

  // A directory of small files against one file of the same bytes: the same records, cut into files at line ends.
  const dirMb = Math.round((dirFiles * 10_000) / 1e6);
  const whole = await dataset(dirMb);
  const dir = join(out, `dir-${dirFiles}`);
  if (!existsSync(join(dir, "done"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const text = readFileSync(whole);
    let start = 0;
    for (let i = 0; i < dirFiles && start < text.length; i++) {
      const want = i === dirFiles - 1 ? text.length : start + Math.floor((text.length - start) / (dirFiles - i));
      let end = text.indexOf(10, Math.max(start, want - 1));
      end = end === -1 ? text.length : end + 1;
      writeFileSync(join(dir, `part-${String(i).padStart(5, "0")}.jsonl`), text.subarray(start, end));
      start = end;
    }
    writeFileSync(join(dir, "done"), "");
  }
  const d = await medians({ file: ["workers", String(n), whole], dir: ["workers", String(n), dir] }, runs);
  const dirRatio = d.file / d.dir;
  console.log(`${dirFiles} files of ~10 kB against one ${dirMb} MB file, ${n} workers: ${d.dir.toFixed(2)} s against ${d.file.toFixed(2)} s: ${dirRatio.toFixed(2)}× the one file's throughput (target ≥ 0.8×: ${dirRatio >= 0.8 ? "met" : "NOT MET"})`);
  return ok;
}
