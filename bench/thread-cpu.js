// Where a run's CPU goes by thread (Linux): runs `node [FLAGS] SCRIPT ARGS…` (e.g. bench/speed.js workers 2 FILE),
// reads /proc/PID/task/*/stat every 10 ms while it runs, and prints the run's own output line, then the CPU seconds
// (user + system, the whole process's life, module loading included) of each kind of thread:
//   main      the main thread (the first task);
//   v8        V8's platform threads (the 2nd-5th tasks Node starts: concurrent TurboFan jobs, the GC's helper tasks,
//             concurrent marking — shared by every isolate of the process);
//   libuv     libuv's thread pool (the 7th-10th: file reads, for every thread of the process);
//   workers   worker threads (started later, one task each);
//   other     the rest (Node's signal and inspector threads).
// Node 20 names none of its threads, so they are told apart by the order Node starts them in (checked on Node 20
// with 4 V8 platform threads and libuv's default pool of 4: a worker thread's task comes after all of those).
// A thread that ends is counted as last read (at most 10 ms before it ended).
//   node bench/thread-cpu.js [NODE_FLAGS…] SCRIPT ARGS…
// Prints the run's stdout, then {"main","v8","libuv","workers","other","total"} as JSON (seconds).
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { taskCpu } from "./common.js";

const argv = process.argv.slice(2);
if (argv.length === 0) throw new Error("usage: node bench/thread-cpu.js [NODE_FLAGS…] SCRIPT ARGS…");
const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "inherit"] });
let out = "";
child.stdout.on("data", (d) => (out += d));
/** tid -> CPU seconds so far. */
const seen = new Map();
const poll = () => {
  let tids;
  try {
    tids = readdirSync(`/proc/${child.pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    const cpu = taskCpu(`/proc/${child.pid}/task/${tid}/stat`);
    if (cpu !== undefined) seen.set(Number(tid), cpu); // else the thread ended between the listing and the read
  }
};
poll();
const timer = setInterval(poll, 10);
child.on("exit", (code) => {
  clearInterval(timer);
  const kinds = { main: 0, v8: 0, libuv: 0, workers: 0, other: 0 };
  // Task ids grow as threads start (other processes' threads take ids in between: the order counts, not the gap).
  [...seen.keys()]
    .sort((a, b) => a - b)
    .forEach((tid, rank) => {
      const kind = rank === 0 ? "main" : rank >= 2 && rank <= 5 ? "v8" : rank >= 7 && rank <= 10 ? "libuv" : rank > 10 ? "workers" : "other";
      kinds[kind] += seen.get(tid);
    });
  const round = (x) => Math.round(x * 100) / 100;
  const total = Object.values(kinds).reduce((a, b) => a + b, 0);
  process.stdout.write(out);
  console.log(JSON.stringify({ ...Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, round(v)])), total: round(total) }));
  process.exitCode = code ?? 1;
});
