// Tokenizer benchmark: counting throughput per tokenizer against the bare parse loop on the same file, in the same
// run, and peak RSS of `ftprep validate --model …` with a tokenizer loaded (by default, a worker per core, and with
// --workers 1).
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generateTokenData } from "./token-data.js";

const run = promisify(execFile);
const here = new URL(".", import.meta.url).pathname;

const MODELS = [
  ["open-mistral-nemo", "Tekken 240718", 5],
  ["gpt-4o-mini-2024-07-18", "o200k_base", 5],
  ["gpt-4-0613", "cl100k_base", 5],
  ["open-mistral-7b", "SentencePiece v3", 2],
];

async function timed(mode, ...args) {
  const { stdout } = await run(process.execPath, [join(here, "token-speed.js"), mode, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

export async function tokensBench({ bin, out, mb = Number(process.env.BENCH_TOKENS_MB ?? 50) }) {
  const file = join(out, `tokens-${mb}mb.jsonl`);
  if (!existsSync(file) || Math.abs(statSync(file).size - mb * 1e6) > 1e6) {
    process.stderr.write(`generating ${file} …\n`);
    await generateTokenData(file, mb * 1e6);
  }
  console.log(`\n# token counting — ${mb} MB of varied chat text (60,000-word lexicon, CJK, emoji, tool calls), one core`);
  // Wall clock and CPU time (the process's, all threads) of each pass; on a shared machine the CPU time is the
  // steadier of the two, and the ratio to the parse loop of the same run the comparable figure.
  const b1 = await timed("baseline", file);
  const b2 = await timed("baseline", file);
  const baseline = Math.min(b1.seconds, b2.seconds);
  const baselineCpu = Math.min(b1.cpu_seconds, b2.cpu_seconds);
  const plainRun = await timed("validate", file);
  const plain = plainRun.seconds;
  const mbps = (s) => (mb / s).toFixed(1);
  console.log(`bare parse loop:            ${baseline.toFixed(2)} s (${mbps(baseline)} MB/s; CPU ${baselineCpu.toFixed(2)} s, ${mbps(baselineCpu)} MB/s)`);
  console.log(`validate, estimate only:    ${plain.toFixed(2)} s (${mbps(plain)} MB/s, ${(baseline / plain).toFixed(2)}× the parse loop; CPU ${plainRun.cpu_seconds.toFixed(2)} s, ${mbps(plainRun.cpu_seconds)} MB/s, ${(baselineCpu / plainRun.cpu_seconds).toFixed(2)}×)`);
  let ok = true;
  for (const [model, name, target] of MODELS) {
    const r = await timed(model, file);
    const rate = mb / r.seconds;
    const met = rate >= target;
    ok &&= met;
    console.log(`validate --model ${model} (${name}): ${r.seconds.toFixed(2)} s (${rate.toFixed(1)} MB/s, ${(baseline / r.seconds).toFixed(2)}× the parse loop; CPU ${r.cpu_seconds.toFixed(2)} s, ${mbps(r.cpu_seconds)} MB/s, ${(baselineCpu / r.cpu_seconds).toFixed(2)}×; load ${r.load_seconds.toFixed(2)} s; ${r.tokens} tokens) — target ≥ ${target} MB/s: ${met ? "met" : "NOT MET"} (wall clock)`);
  }
  // What a process or worker thread pays before its first count: the table built from the npm package (a run with
  // no cache folder it can write) against read back from the cache file. Best of 3, CPU time.
  for (const id of ["tekken-240718", "o200k_base", "cl100k_base", "mistral-sp-v3"]) {
    const best = async (from) => {
      const runs = [await timed("load", id, from), await timed("load", id, from), await timed("load", id, from)];
      if (runs.some((r) => r.from !== from)) throw new Error(`${id}: loaded from ${runs.map((r) => r.from).join(", ")}, not ${from}`);
      return Math.min(...runs.map((r) => r.cpu_seconds));
    };
    await timed("load", id, "write");
    const built = await best("package");
    const cached = await best("cache");
    console.log(`tokenizer load ${id}: from the package ${built.toFixed(3)} s CPU, from the cache file ${cached.toFixed(3)} s CPU (${(built / cached).toFixed(0)}× less)`);
  }
  const rssOf = async (args) => {
    const { stderr } = await run("/usr/bin/time", ["-v", bin, ...args], { maxBuffer: 64 << 20 }).catch((e) => e);
    return Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) / 1000;
  };
  // Peak RSS of the whole process (every thread's heap: /usr/bin/time -v), as users run it — the default, a worker
  // per core (a 50 MB file is past the 32 MiB line, so they are used), each thread with its own tokenizer cache —
  // and with --workers 1 (one thread). Both are held to the bound.
  const workers = availableParallelism();
  for (const [model, name] of MODELS) {
    const pooled = await rssOf(["validate", "--json", "--model", model, file]);
    const single = await rssOf(["validate", "--json", "--workers", "1", "--model", model, file]);
    const met = pooled <= 250 && single <= 250;
    ok &&= met;
    console.log(`peak RSS, validate --model ${model} (${name}): ${pooled.toFixed(1)} MB by default (${workers} worker${workers === 1 ? "" : "s"}), ${single.toFixed(1)} MB with --workers 1 — bound ≤ 250 MB: ${met ? "met" : "NOT MET"}`);
  }
  return ok;
}
