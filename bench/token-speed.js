// One timed pass over a file, in its own process:
//   node bench/token-speed.js baseline FILE      — split lines + JSON.parse (the bare parse loop)
//   node bench/token-speed.js validate FILE      — ftprep's validateFile without a tokenizer (the estimate)
//   node bench/token-speed.js MODEL FILE         — validateFile counting tokens with MODEL's tokenizer
//   node bench/token-speed.js load TOKENIZER package|cache — loads a tokenizer: its table built from the npm
//                                                package, or read from the cache file
//   node bench/token-speed.js load TOKENIZER write — loads it the default way (writes the cache file if missing)
// Prints {"mode","seconds","cpu_seconds","load_seconds","records","bytes","tokens"} as JSON. The tokenizer's load
// time is kept apart (it is paid once per process). cpu_seconds is the process's CPU time over the same span (user +
// system, all its threads): on a machine shared with other work it moves less than the wall clock.
import { statSync } from "node:fs";
import { bareLoop } from "./common.js";

const [mode, file] = process.argv.slice(2);
if (mode === "load") {
  const { createTokenizer } = await import("../dist/tokens/vocabularies.js");
  const [id, from] = process.argv.slice(3);
  if (from === "write") {
    // Loads it once the default way, so that its cache file exists for the "cache" runs (each its own process: in
    // this one, a second load would take the table this one shared).
    let loaded;
    await createTokenizer(id, { onLoad: (f) => (loaded = f) });
    console.log(JSON.stringify({ mode, tokenizer: id, from: loaded }));
    process.exit(0);
  }
  const start = performance.now();
  const cpu = process.cpuUsage();
  let loaded;
  await createTokenizer(id, { ...(from === "package" ? { cacheDirs: [] } : {}), onLoad: (f) => (loaded = f) });
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ mode, tokenizer: id, from: loaded, seconds: (performance.now() - start) / 1000, cpu_seconds: (used.user + used.system) / 1e6 }));
  process.exit(0);
}
const bytes = statSync(file).size;
let records = 0;
let tokens = null;
let loadSeconds = 0;
let start;
let cpu;
if (mode === "baseline") {
  start = performance.now();
  cpu = process.cpuUsage();
  records = await bareLoop(file);
} else {
  const { validateFile } = await import("../dist/index.js");
  let hook;
  if (mode !== "validate") {
    const load = performance.now();
    const { resolveTokenHook } = await import("../dist/tokens/hook.js");
    hook = await resolveTokenHook({ model: mode });
    loadSeconds = (performance.now() - load) / 1000;
  }
  start = performance.now();
  cpu = process.cpuUsage();
  const report = await validateFile(file, hook ? { tokens: hook } : {});
  records = report.records;
  tokens = report.stats.tokens?.total ?? null;
}
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({ mode, seconds: (performance.now() - start) / 1000, cpu_seconds: (used.user + used.system) / 1e6, load_seconds: loadSeconds, records, bytes, tokens }));
