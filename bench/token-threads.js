// What the machine gives N threads that count tokens at once, against one thread alone: the ceiling of the worker
// pool's token-counting ratio at that moment, measured without the pool, the file reading, the validation and the
// merge. N worker threads each load the same tokenizer (the main thread's table and piece cache, shared, as the
// pool's workers get them) and the same in-memory text (every string of the first MB megabytes of FILE); after a
// warm-up pass each (so the cache is full and each thread's code optimised), rounds alternate: thread 0 counts the text PASSES times alone, then all N count it PASSES times
// at once. Each thread does the same work, so N threads at once are N × (one thread's time) / (their time) as fast
// as one. On an idle machine with N free cores that is about N; what it falls short of N is what the cores lose
// to each other (or to other load) when all are busy, which no change to the pool can win back.
//   node bench/token-threads.js N FILE [MB] [TOKENIZER]   (defaults: 16 MB, o200k_base)
// Prints {"threads","one_seconds","many_seconds","ratio","rounds":[[one, many], …],"one_cpu","many_cpu","mb"}: medians
// over ROUNDS (env BENCH_CEILING_ROUNDS, default 3) rounds; `*_cpu` the counting threads' CPU time (user + system,
// from /proc/thread-self/stat) in the median round's runs.
import { readFileSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { median, replies, threadCpu } from "./common.js";

const PASSES = 2;

function textsOf(file, mb) {
  const texts = [];
  const walk = (v) => {
    if (typeof v === "string") texts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  const bytes = readFileSync(file).subarray(0, mb * 1e6);
  const lines = bytes.toString("utf8").split("\n");
  lines.pop(); // cut mid-line
  for (const line of lines) if (line.trim() !== "") walk(JSON.parse(line));
  return texts;
}

if (isMainThread) {
  const [n = "2", file, mb = "16", tokenizer = "o200k_base"] = process.argv.slice(2);
  if (!file) throw new Error("usage: node bench/token-threads.js N FILE [MB] [TOKENIZER]");
  const { loadTokenizer } = await import("../dist/tokens/vocabularies.js");
  // Loaded here first: the table is shared with the threads started after (as the pool's workers get it).
  await loadTokenizer(tokenizer);
  const threads = Array.from({ length: Number(n) }, () => new Worker(new URL(import.meta.url), { workerData: { file, mb: Number(mb), tokenizer } }));
  const next = threads.map(replies);
  await Promise.all(next.map((reply) => reply())); // each warmed up
  const go = async (count) => {
    const start = performance.now();
    for (let i = 0; i < count; i++) threads[i].postMessage("go");
    const done = await Promise.all(next.slice(0, count).map((reply) => reply()));
    return { seconds: (performance.now() - start) / 1000, cpu: done.reduce((s, d) => s + d.cpu, 0) };
  };
  const rounds = [];
  for (let r = 0; r < Number(process.env.BENCH_CEILING_ROUNDS ?? 3); r++) rounds.push([await go(1), await go(threads.length)]);
  for (const w of threads) await w.terminate();
  const one = median(rounds.map(([o]) => o.seconds));
  const many = median(rounds.map(([, m]) => m.seconds));
  const mid = rounds.find(([o]) => o.seconds === one);
  console.log(
    JSON.stringify({
      threads: threads.length,
      one_seconds: one,
      many_seconds: many,
      ratio: (threads.length * one) / many,
      rounds: rounds.map(([o, m]) => [o.seconds, m.seconds]),
      one_cpu: mid[0].cpu,
      many_cpu: rounds.find(([, m]) => m.seconds === many)[1].cpu,
      mb: Number(mb),
    }),
  );
} else {
  const { file, mb, tokenizer } = workerData;
  const { loadTokenizer } = await import("../dist/tokens/vocabularies.js");
  const counter = await loadTokenizer(tokenizer);
  const texts = textsOf(file, mb);
  const count = () => {
    let tokens = 0;
    for (const t of texts) tokens += counter.count(t);
    return tokens;
  };
  count();
  parentPort.postMessage({ ready: true });
  parentPort.on("message", () => {
    const cpu = threadCpu();
    for (let p = 0; p < PASSES; p++) count();
    parentPort.postMessage({ cpu: threadCpu() - cpu });
  });
}
