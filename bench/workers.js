// Worker benchmark (`BENCH_ONLY=workers npm run bench`): one file validated by N workers against one thread and
// against the bare split + JSON.parse loop, on both generated profiles (plain ASCII chat, and varied multilingual
// chat text), with the machine's ceiling for that work measured after each round (bench/parse-threads.js: the bare
// loop in N threads over the file's byte ranges at once against alone); the same with exact token counting; peak RSS with N workers from a 10 MB to the large files; a
// directory of 10,000 small files against one file of the same records. Each timed figure is the median of
// BENCH_RUNS runs (default 5), each run in its own process, the modes interleaved so load changes hit them alike;
// each run's CPU time is printed beside it (CPU over wall time: the cores a mode used — under other load, a 2-worker
// run that used well under 2 measured the load, not ftprep).
//   BENCH_WORKERS_PROTOCOL=issue  the issue's protocol: 1 GB files of both profiles, 1 GB with token counting,
//                            5 runs, 3 RSS runs (each still overridable below)
//   BENCH_WORKERS_MB         file size of the speed runs and the large RSS figure (default 200)
//   BENCH_WORKERS_TOKENS_MB  file size of the token-counting runs (default 30)
//   BENCH_WORKERS            N (default: os.availableParallelism())
//   BENCH_RUNS               runs per mode (default 5)
//   BENCH_RSS_RUNS           runs per RSS figure, the median kept (default 1)
//   BENCH_DIR_FILES          files of the directory run (default 10,000; 10 kB each)
//   BENCH_WORKERS_PARTS      which parts: speed, tokens, rss, dir (comma-separated; default all)
//   BENCH_NODE_FLAGS         V8/Node flags for every timed run, bare loop included (e.g. "--single-threaded-gc":
//                            to compare on a quiet machine how the GC's helper threads weigh on each mode)
//   BENCH_DATA_DIR           where generated data is kept and reused by later runs (default bench/out/data; point
//                            several checkouts at one directory to generate each file once)
// Generated data is named by profile, size, seed and a hash of its generator's source, and written under a
// temporary name first: a file there is complete, and a changed generator makes new files instead of reusing stale ones.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generate } from "./generate.js";
import { generateTokenData } from "./token-data.js";

const run = promisify(execFile);
const here = new URL(".", import.meta.url).pathname;

const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");

async function timed(args) {
  const { stdout } = await run(process.execPath, [...nodeFlags, join(here, "speed.js"), ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

/** The machine's ceiling for N counting threads at this moment (bench/token-threads.js). */
async function ceiling(n, file) {
  const { stdout } = await run(process.execPath, [...nodeFlags, join(here, "token-threads.js"), String(n), file], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

/**
 * The machine's ceiling for N threads running the bare loop over a file's byte ranges at this moment, or with
 * `ftprep` the pool's own per-range work in N warm threads (bench/parse-threads.js).
 */
async function parseCeiling(n, file, ftprep = false) {
  const { stdout } = await run(process.execPath, [...nodeFlags, join(here, "parse-threads.js"), ...(ftprep ? ["--ftprep"] : []), String(n), file], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

/** "1.83× (1.90×, CPU 1.02× a thread's alone; …)": the median of a ceiling's rounds and each round. */
function describeCeiling(ceilings) {
  const c = median(ceilings.map((x) => x.ratio));
  return `median ${c.toFixed(2)}× (${ceilings.map((x) => `${x.ratio.toFixed(2)}×, CPU ${(x.many_cpu / x.one_cpu).toFixed(2)}× the threads' alone`).join("; ")})`;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Each mode's runs (seconds, CPU seconds), the modes interleaved run by run; medians and the runs themselves.
 * `afterRound`, if given, runs after each round (a measurement to interleave with the modes).
 */
async function medians(modes, runs, afterRound) {
  const all = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, args] of Object.entries(modes)) {
      const { seconds, cpu_seconds: cpu, main_cpu_seconds: main } = await timed(args);
      all[name].push({ seconds, cpu, main: main ?? NaN });
    }
    await afterRound?.();
  }
  return Object.fromEntries(
    Object.entries(all).map(([k, v]) => [k, { seconds: median(v.map((x) => x.seconds)), cpu: median(v.map((x) => x.cpu ?? NaN)), runs: v }]),
  );
}

/** "2.31 s (2.28–2.40; CPU 3.05 s, 1.32 cores)": a mode's median, its range over the runs and the cores it used. */
function describe(m) {
  const s = m.runs.map((r) => r.seconds);
  const cores = Number.isFinite(m.cpu) ? `; CPU ${m.cpu.toFixed(2)} s, ${(m.cpu / m.seconds).toFixed(2)} cores` : "";
  return `${m.seconds.toFixed(2)} s (${Math.min(...s).toFixed(2)}–${Math.max(...s).toFixed(2)}${cores})`;
}

/** The profiles: their generator (its source file keys the cache) and seed. */
const PROFILES = {
  chat: { file: "generate.js", seed: 1, make: (path, bytes) => generate(path, bytes, 1) },
  multilingual: { file: "token-data.js", seed: 11, make: (path, bytes) => generateTokenData(path, bytes) },
};

function dataDir(out) {
  const dir = process.env.BENCH_DATA_DIR ?? join(out, "data");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function generatorKey(profile) {
  return createHash("sha256").update(readFileSync(join(here, PROFILES[profile].file))).digest("hex").slice(0, 12);
}

/** A generated file of `mb` MB of `profile`, reused when already there. */
async function data(out, profile, mb) {
  const { seed, make } = PROFILES[profile];
  const path = join(dataDir(out), `${profile}-${mb}mb-seed${seed}-${generatorKey(profile)}.jsonl`);
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path} …\n`);
    const partial = `${path}.${process.pid}.partial`;
    await make(partial, mb * 1e6);
    renameSync(partial, path);
  }
  return path;
}

async function peakRss(bin, args) {
  const { stderr } = await run("/usr/bin/time", ["-v", bin, ...args], { maxBuffer: 64 << 20 }).catch((e) => e);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
  if (!kb) throw new Error(`no RSS figure in:\n${stderr}`);
  return kb / 1000;
}

async function medianRss(bin, args, runs) {
  const figures = [];
  for (let r = 0; r < runs; r++) figures.push(await peakRss(bin, args));
  return median(figures);
}

export async function workersBench({ bin, out }) {
  const issue = process.env.BENCH_WORKERS_PROTOCOL === "issue";
  const mb = Number(process.env.BENCH_WORKERS_MB ?? (issue ? 1000 : 200));
  const tokensMb = Number(process.env.BENCH_WORKERS_TOKENS_MB ?? (issue ? 1000 : 30));
  const n = Number(process.env.BENCH_WORKERS ?? availableParallelism());
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const rssRuns = Number(process.env.BENCH_RSS_RUNS ?? (issue ? 3 : 1));
  const dirFiles = Number(process.env.BENCH_DIR_FILES ?? 10_000);
  const parts = new Set((process.env.BENCH_WORKERS_PARTS ?? "speed,tokens,rss,dir").split(","));
  const smallMb = 10;
  let ok = true;
  const rows = [];
  const profiles = [
    ["plain ASCII chat", "chat"],
    ["multilingual chat", "multilingual"],
  ];
  console.log(`\n# workers — ${n} workers, ${availableParallelism()} cores, medians of ${runs} runs (seconds after module loading)${nodeFlags.length > 0 ? `, node ${nodeFlags.join(" ")}` : ""}, data in ${dataDir(out)}`);

  if (parts.has("speed")) {
    for (const [name, profile] of profiles) {
      const file = await data(out, profile, mb);
      // Each round also measures the machine's ceiling for this work at that moment (bench/parse-threads.js: the bare
      // loop over the file's N byte ranges in N threads at once against the same threads one at a time, warm).
      // The same for ftprep's own per-range work in N warm threads: what the pool would get if starting, warming up
      // and merging cost nothing.
      const ceilings = [];
      const warmCeilings = [];
      const m = await medians({ baseline: ["baseline", file], one: ["ftprep", file], many: ["workers", String(n), file] }, runs, async () => {
        const c = await parseCeiling(n, file);
        const w = await parseCeiling(n, file, true);
        ceilings.push(c);
        warmCeilings.push(w);
        const line = (x) => `${x.ratio.toFixed(2)}× the same threads alone (${x.one_seconds.toFixed(2)} s / ${x.many_seconds.toFixed(2)} s; CPU ${x.one_cpu.toFixed(2)} s / ${x.many_cpu.toFixed(2)} s)`;
        console.log(`  round ${ceilings.length}: the bare loop in ${n} threads at once ${line(c)}; ftprep's range work in ${n} warm threads at once ${line(w)}`);
      });
      const rate = (s) => `${(mb / s).toFixed(0)} MB/s`;
      console.log(`${name}, ${mb} MB: bare loop ${describe(m.baseline)}, ${rate(m.baseline.seconds)}`);
      console.log(`  1 thread ${describe(m.one)}, ${rate(m.one.seconds)}`);
      console.log(`  ${n} workers ${describe(m.many)}, ${rate(m.many.seconds)}`);
      console.log(`  each run, 1 thread / ${n} workers (s, CPU s): ${m.one.runs.map((r, i) => `${r.seconds.toFixed(2)} (${r.cpu.toFixed(2)}) / ${m.many.runs[i].seconds.toFixed(2)} (${m.many.runs[i].cpu.toFixed(2)})`).join("; ")}`);
      const single = m.baseline.seconds / m.one.seconds;
      const speedup = m.one.seconds / m.many.seconds;
      const c = median(ceilings.map((x) => x.ratio));
      console.log(`  1 thread / bare loop: ${single.toFixed(2)}× (target ≥ 0.9×: ${single >= 0.9 ? "met" : "NOT MET"}); ${n} workers / 1 thread: ${speedup.toFixed(2)}× (target for 2 workers on 1 GB ≥ 1.7×: ${speedup >= 1.7 ? "met" : "NOT MET"}); ${n} workers / bare loop: ${(m.baseline.seconds / m.many.seconds).toFixed(2)}×`);
      const wc = median(warmCeilings.map((x) => x.ratio));
      console.log(`  the machine's ceiling, the bare loop in ${n} threads over the file's byte ranges at once against alone (bench/parse-threads.js, after each round): ${describeCeiling(ceilings)}`);
      console.log(`  ftprep's range work in ${n} warm threads at once against alone (bench/parse-threads.js --ftprep: no thread start, warm-up or merge): ${describeCeiling(warmCeilings)}`);
      rows.push(`| ${name}, ${mb} MB: bare loop / 1 thread / ${n} workers | ${m.baseline.seconds.toFixed(2)} s / ${m.one.seconds.toFixed(2)} s / ${m.many.seconds.toFixed(2)} s — 1 thread **${single.toFixed(2)}×** the bare loop; ${n} workers **${speedup.toFixed(2)}×** one thread (the same rounds, ${n} threads at once against alone: the bare loop ${c.toFixed(2)}×, ftprep's range work on warm threads ${wc.toFixed(2)}×) |`);
    }
  }

  if (parts.has("tokens")) {
    const tokensFile = await data(out, "multilingual", tokensMb);
    const model = "gpt-4o-mini-2024-07-18";
    // Each round also measures the machine's ceiling for this work at that moment (bench/token-threads.js: the
    // tokenizer counting in-memory text in N threads at once against one alone, no pool, no I/O, no merge).
    const ceilings = [];
    const t = await medians(
      { one: ["ftprep", tokensFile, model], many: ["workers", String(n), tokensFile, model] },
      runs,
      async () => ceilings.push(await ceiling(n, tokensFile)),
    );
    const tokenSpeedup = t.one.seconds / t.many.seconds;
    console.log(`exact token counting (--model ${model}), ${tokensMb} MB multilingual: 1 thread ${describe(t.one)}`);
    console.log(`  ${n} workers ${describe(t.many)} (each worker reads the cached tokenizer table): ${tokenSpeedup.toFixed(2)}× (target for 2 workers on 1 GB ≥ 1.85×: ${tokenSpeedup >= 1.85 ? "met" : "NOT MET"})`);
    console.log(`  each run, 1 thread / ${n} workers (s, CPU s): ${t.one.runs.map((r, i) => `${r.seconds.toFixed(2)} (${r.cpu.toFixed(2)}) / ${t.many.runs[i].seconds.toFixed(2)} (${t.many.runs[i].cpu.toFixed(2)})`).join("; ")}`);
    const c = median(ceilings.map((x) => x.ratio));
    console.log(`  the machine's ceiling, ${n} threads counting in memory at once against one alone (bench/token-threads.js, after each round): median ${c.toFixed(2)}× (${ceilings.map((x) => `${x.ratio.toFixed(2)}×, CPU ${(x.many_cpu / n / x.one_cpu).toFixed(2)}× a thread's alone`).join("; ")})`);
    rows.push(`| exact token counting (o200k), ${tokensMb} MB multilingual: 1 thread / ${n} workers | ${t.one.seconds.toFixed(2)} s / ${t.many.seconds.toFixed(2)} s: **${tokenSpeedup.toFixed(2)}×** (${n} threads counting in memory at once, the same rounds: ${c.toFixed(2)}× one alone) |`);
  }

  if (parts.has("rss")) {
    const args = ["validate", "--json", "--workers", String(n)];
    const rssSmall = await medianRss(bin, [...args, await data(out, "chat", smallMb)], rssRuns);
    for (const [name, profile] of profiles) {
      const rssLarge = await medianRss(bin, [...args, await data(out, profile, mb)], rssRuns);
      const rssOk = rssLarge <= 250 && rssLarge / rssSmall <= 1.3;
      ok &&= rssOk;
      console.log(`peak RSS, validate --workers ${n} (median of ${rssRuns}): ${smallMb} MB chat ${rssSmall.toFixed(1)} MB, ${mb} MB ${name} ${rssLarge.toFixed(1)} MB (${(rssLarge / rssSmall).toFixed(2)}×; bound ≤ 250 MB and ≤ 1.3×: ${rssOk ? "met" : "NOT MET"})`);
      rows.push(`| peak RSS, \`validate --workers ${n}\`, ${smallMb} MB / ${mb} MB ${name} | ${rssSmall.toFixed(1)} / ${rssLarge.toFixed(1)} MB (${(rssLarge / rssSmall).toFixed(2)}×) |`);
    }
  }

  if (parts.has("dir")) {
    // A directory of small files against one file of the same bytes: the same records, cut into files at line ends.
    const dirMb = Math.round((dirFiles * 10_000) / 1e6);
    const whole = await data(out, "chat", dirMb);
    const dir = join(dataDir(out), `dir-${dirFiles}-of-chat-${dirMb}mb-${generatorKey("chat")}`);
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
      // Not a .jsonl name: discovery leaves it out.
      writeFileSync(join(dir, "done"), "");
    }
    const d = await medians({ file: ["workers", String(n), whole], dir: ["workers", String(n), dir] }, runs);
    const dirRatio = d.file.seconds / d.dir.seconds;
    console.log(`${dirFiles} files of ~10 kB against one ${dirMb} MB file, ${n} workers: ${describe(d.dir)} against ${describe(d.file)}: ${dirRatio.toFixed(2)}× the one file's throughput (target ≥ 0.8×: ${dirRatio >= 0.8 ? "met" : "NOT MET"})`);
    // Where the directory's extra CPU goes: the main thread (discovery, dispatch, the reports) against the rest.
    const mainCpu = (m) => median(m.runs.map((r) => r.main));
    if (Number.isFinite(mainCpu(d.dir))) {
      const split = (m) => `main thread ${mainCpu(m).toFixed(2)} s, other threads ${(m.cpu - mainCpu(m)).toFixed(2)} s`;
      console.log(`  CPU (medians): the directory's ${split(d.dir)}; the one file's ${split(d.file)}`);
    }
    rows.push(`| ${dirFiles} files of ~10 kB against one ${dirMb} MB file, ${n} workers | ${d.dir.seconds.toFixed(2)} s against ${d.file.seconds.toFixed(2)} s: **${dirRatio.toFixed(2)}×** |`);
  }

  console.log(`\nREADME rows (medians of ${runs}):\n| measure | figure |\n|---|---|\n${rows.join("\n")}`);
  return ok;
}
