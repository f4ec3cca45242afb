// One timed pass over a file, in its own process so runs do not share a warmed-up heap:
//   node bench/speed.js baseline FILE            — split lines + JSON.parse, the least any validator must do
//   node bench/speed.js ftprep FILE [MODEL]      — ftprep's validateFile, one thread (library API, no CLI start-up)
//   node bench/speed.js ftprep-nofigures FILE    — the same without the report's figures (their cost's baseline)
//   node bench/speed.js workers N PATH [MODEL]   — validatePaths with N workers (a file or a directory)
//   node bench/speed.js convert FILE OUT         — ftprep's convertPaths to OpenAI chat (library API)
// MODEL counts tokens exactly with that model's tokenizer. Prints {"mode","seconds","cpu_seconds","load_seconds",
// "records","bytes"} as JSON: `seconds` is the work, timed once ftprep's modules (and a tokenizer) are loaded;
// `cpu_seconds` the process's CPU time (user + system, every thread) over the same span; `main_cpu_seconds` the
// main thread's alone (Linux: /proc/self/task/PID/stat, in 100 Hz ticks; null elsewhere), so a run with workers
// shows what the main thread spent beside them; `load_seconds` that loading (0 for the bare loop).
import { statSync } from "node:fs";
import { bareLoop, taskCpu } from "./common.js";

/** The main thread's CPU seconds (user + system) so far, or undefined where /proc does not tell it. */
const mainThreadCpu = () => taskCpu(`/proc/self/task/${process.pid}/stat`);

const [mode, ...args] = process.argv.slice(2);
let records = 0;
let load = 0;
let start = performance.now();
let cpu = process.cpuUsage();
let mainCpu = mainThreadCpu();
let file;
if (mode === "baseline") {
  file = args[0];
  records = await bareLoop(file);
} else if (mode === "ftprep" || mode === "ftprep-nofigures" || mode === "workers") {
  const workers = mode === "workers" ? Number(args.shift()) : 1;
  const [path, model] = args;
  file = path;
  const { validateFile, validatePaths } = await import("../dist/index.js");
  let tokens;
  if (model) {
    const { resolveTokenHook } = await import("../dist/tokens/hook.js");
    tokens = await resolveTokenHook({ model });
  }
  load = (performance.now() - start) / 1000;
  start = performance.now();
  cpu = process.cpuUsage();
  mainCpu = mainThreadCpu();
  if (mode !== "workers") {
    records = (await validateFile(path, { figures: mode === "ftprep", ...(tokens ? { tokens } : {}) })).records;
  } else {
    const summary = await validatePaths([path], { workers, ...(tokens ? { tokens } : {}) });
    records = summary.files.reduce((n, f) => n + f.records, 0);
  }
} else if (mode === "convert") {
  const [path, output] = args;
  file = path;
  const { convertPaths } = await import("../dist/index.js");
  const summary = await convertPaths([path], { to: "openai-chat", out: output });
  records = summary.totals.records_out;
} else {
  throw new Error(`unknown mode ${mode}`);
}
const bytes = statSync(file).isFile() ? statSync(file).size : 0;
const seconds = (performance.now() - start) / 1000;
const used = process.cpuUsage(cpu);
const mainUsed = mainCpu === undefined ? undefined : mainThreadCpu() - mainCpu;
console.log(JSON.stringify({ mode, seconds, cpu_seconds: (used.user + used.system) / 1e6, main_cpu_seconds: mainUsed ?? null, load_seconds: load, records, bytes }));
