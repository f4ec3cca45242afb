// Pieces the benchmark scripts share: the bare split + JSON.parse loop (every speed ratio's baseline), a thread's
// CPU time from /proc, the median of runs and a worker thread's replies in order.
import { createReadStream, readFileSync } from "node:fs";

/**
 * The bare loop — split lines + JSON.parse, the least any validator must do — over a file, or over bytes
 * [start, end) of it (`end` exclusive; 256 kB reads). Returns the number of lines parsed.
 */
export async function bareLoop(file, start, end) {
  if (start !== undefined && end <= start) return 0;
  let records = 0;
  let rest = Buffer.alloc(0);
  const range = start === undefined ? {} : { start, end: end - 1 };
  for await (const chunk of createReadStream(file, { ...range, highWaterMark: 256 * 1024 })) {
    const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let pos = 0;
    let i;
    while ((i = buf.indexOf(10, pos)) !== -1) {
      JSON.parse(buf.toString("utf8", pos, i));
      records++;
      pos = i + 1;
    }
    rest = buf.subarray(pos);
  }
  return records;
}

/** CPU seconds (user + system, 100 Hz ticks) of the task whose `stat` file is `path`, or undefined where /proc does not tell it. */
export function taskCpu(path) {
  try {
    const stat = readFileSync(path, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** This thread's CPU seconds so far; Linux only, NaN elsewhere. */
export function threadCpu() {
  return taskCpu("/proc/thread-self/stat") ?? Number.NaN;
}

/** The median of runs (the lower of the two middle ones for an even count, as every ratio here is of odd counts). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

/** A function that resolves to `worker`'s next message, in the order they came; an error in the thread throws. */
export function replies(worker) {
  const queue = [];
  const waiting = [];
  worker.on("message", (m) => (waiting.length > 0 ? waiting.shift()(m) : queue.push(m)));
  worker.on("error", (e) => {
    throw e;
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)));
}
