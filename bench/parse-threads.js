// What the machine gives N threads that run the bare split + JSON.parse loop at once over one file, against the
// same threads one at a time: the ceiling of the workers' one-file ratio at that moment, measured without ftprep
// (no pool, no validation, no merge, no thread start or warm-up in the timed part). The file (or its first MB
// megabytes) is cut into N byte ranges at line ends, as the pool cuts it; N worker threads each read their range
// from disk (256 kB reads, as bench/speed.js's bare loop) and parse every line. After a warm-up pass of each thread
// over its range's first 32 MB (so each thread's code is optimised), rounds alternate: each thread alone over its
// range, one after the other (their times summed: one thread's time for the whole file, on warm code), then all N
// at once. The threads do the same work either way, so the ratio (alone / at once) is what N cores give this work
// over one; on an idle machine with N free cores that is about N, and what it falls short of N is what the cores
// lose to each other (memory bandwidth, shared caches, the clock a busy chip runs at, other load), which no change
// to ftprep can win back.
// With --ftprep each thread runs instead what a pool's thread runs for a byte range (`runPart`: ftprep's validation
// of the range, the format detected once beforehand as the pool does), warm the same way: the most the pool could
// get from N threads if starting them, warming each isolate up and merging cost nothing.
//   node bench/parse-threads.js [--ftprep] N FILE [MB]   (default: the whole file)
// Prints {"threads","work","one_seconds","many_seconds","ratio","rounds":[[one, many], …],"one_cpu","many_cpu","mb"}:
// medians over ROUNDS (env BENCH_PARSE_CEILING_ROUNDS, default 1) rounds; `*_cpu` the threads' CPU time (user +
// system, from /proc/thread-self/stat) in the median round's runs, summed over the threads.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { bareLoop, median, replies, threadCpu } from "./common.js";

const WARM_BYTES = 32e6;

/** The first byte after the line end at or after `at` (the file's end if none). */
function lineStartAfter(fd, at, size) {
  const buf = Buffer.alloc(64 * 1024);
  for (let pos = at; pos < size; pos += buf.length) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    const i = buf.subarray(0, n).indexOf(10);
    if (i !== -1) return pos + i + 1;
  }
  return size;
}

/** N ranges of about equal size, cut after line ends: [[start, end), …]. */
function rangesOf(file, bytes, n) {
  const fd = openSync(file, "r");
  try {
    const cuts = [0];
    for (let i = 1; i < n; i++) cuts.push(Math.max(cuts[i - 1], lineStartAfter(fd, Math.floor((bytes * i) / n), bytes)));
    cuts.push(bytes);
    return cuts.slice(0, -1).map((start, i) => [start, cuts[i + 1]]);
  } finally {
    closeSync(fd);
  }
}

if (isMainThread) {
  const argv = process.argv.slice(2);
  const work = argv[0] === "--ftprep" ? (argv.shift(), "ftprep") : "bare";
  const [n = "2", file, mb] = argv;
  if (!file) throw new Error("usage: node bench/parse-threads.js [--ftprep] N FILE [MB]");
  const size = statSync(file).size;
  // MB megabytes, up to the end of the line they end in.
  let bytes = size;
  if (mb !== undefined && Number(mb) * 1e6 < size) {
    const fd = openSync(file, "r");
    bytes = lineStartAfter(fd, Number(mb) * 1e6, size);
    closeSync(fd);
  }
  const ranges = rangesOf(file, bytes, Number(n));
  let task;
  if (work === "ftprep") {
    // What the pool tells each thread for a range of this file (src/workers/validate.ts: taskOf, with the format
    // detected from the file's start).
    const { detectFileFormat } = await import("../dist/validate/file.js");
    const { targetOf } = await import("../dist/target/target-spec.js");
    const target = targetOf({});
    const format = (await detectFileFormat(file, { layout: "jsonl", compression: "none" })) ?? target.format;
    task = { path: file, provider: target.provider.name, format, duplicates: false, layout: "jsonl", compression: "none" };
  }
  const threads = ranges.map((range) => new Worker(new URL(import.meta.url), { workerData: { file, range, task } }));
  const next = threads.map(replies);
  await Promise.all(next.map((reply) => reply())); // each warmed up
  const go = async (which) => {
    const start = performance.now();
    for (const i of which) threads[i].postMessage("go");
    const done = await Promise.all(which.map((i) => next[i]()));
    return { seconds: (performance.now() - start) / 1000, cpu: done.reduce((s, d) => s + d.cpu, 0) };
  };
  const all = threads.map((_, i) => i);
  const rounds = [];
  for (let r = 0; r < Number(process.env.BENCH_PARSE_CEILING_ROUNDS ?? 1); r++) {
    const alone = { seconds: 0, cpu: 0 };
    for (const i of all) {
      const one = await go([i]);
      alone.seconds += one.seconds;
      alone.cpu += one.cpu;
    }
    rounds.push([alone, await go(all)]);
  }
  for (const w of threads) await w.terminate();
  const one = median(rounds.map(([o]) => o.seconds));
  const many = median(rounds.map(([, m]) => m.seconds));
  console.log(
    JSON.stringify({
      threads: threads.length,
      work,
      one_seconds: one,
      many_seconds: many,
      ratio: one / many,
      rounds: rounds.map(([o, m]) => [o.seconds, m.seconds]),
      one_cpu: rounds.find(([o]) => o.seconds === one)[0].cpu,
      many_cpu: rounds.find(([, m]) => m.seconds === many)[1].cpu,
      mb: bytes / 1e6,
    }),
  );
} else {
  const { file, range, task } = workerData;
  /** The bare loop (bench/speed.js's baseline) over bytes [start, end) of the file. */
  let parse = (start, end) => bareLoop(file, start, end);
  if (task !== undefined) {
    const { runPart } = await import("../dist/workers/part-run.js");
    const hooks = { progress: () => undefined, tokenHook: () => Promise.resolve(undefined) };
    parse = async (start, end) => (await runPart({ ...task, range: { start, end } }, hooks)).lines;
  }
  const [start, end] = range;
  // Warm-up: up to the first line end after WARM_BYTES of the range.
  const fd = openSync(file, "r");
  const warmEnd = Math.min(end, lineStartAfter(fd, Math.min(end, start + WARM_BYTES), end));
  closeSync(fd);
  await parse(start, warmEnd);
  parentPort.postMessage({ ready: true });
  parentPort.on("message", async () => {
    const cpu = threadCpu();
    const records = await parse(start, end);
    parentPort.postMessage({ cpu: threadCpu() - cpu, records });
  });
}
