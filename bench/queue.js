// Queue benchmark (`npm run bench`, part "queue"): throughput of 1, 2 and 3 `ftprep work --queue` processes on this
// machine. Each run gets N× the units of the one-worker run (weak scaling: N workers, N shares), so the ratio
// (N·units / time with N) ÷ (units / time with 1) is N when the workers do not slow each other down. Units are
// local files of generated records (no network but loopback): a real Redis (Debian's redis-server, installed by
// scripts/ensure-redis.sh) and the local Files API with 20 ms per request, all started here on 127.0.0.1.
// The runs are interleaved (1, 2, 3 workers, then again, BENCH_QUEUE_ROUNDS times) and medians compared, so a change
// of load during the benchmark falls on every N alike; the CPU time a unit costs (user + system) is printed too —
// the workers' (/usr/bin/time), the local Files API's (`ftprep serve` started through the bin, as a user runs it —
// so with the bin's flags and malloc settings — read from /proc during the workers' run) and Redis's (/proc) — since with two workers both cores are full and the CPU a unit costs is what caps the ratio;
// CPU seconds per unit that stay the same with more workers mean the workers do not slow each other down, whatever
// the wall clock of a shared machine says. A worker's CPU is also split by phase (read from /proc when it prints a
// unit's start and end): its start-up, its first unit, and each further unit — what a worker pays once against
// what a unit costs — and its peak RSS (/usr/bin/time) is printed.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { generate } from "./generate.js";

async function freePort() {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address();
  s.close();
  await once(s, "close");
  return port;
}

async function startRedis() {
  execFileSync("bash", [join(import.meta.dirname, "..", "scripts", "ensure-redis.sh")], { stdio: "inherit" });
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("Ready to accept connections")) resolve();
    });
    child.once("exit", () => reject(new Error(`redis-server did not start: ${out}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM"), cpu: () => processCpu(child.pid) };
}

/** Runs ftprep under /usr/bin/time; resolves with its CPU seconds (user + system) and peak RSS (MB). */
function cli(bin, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%U %S %M", bin, ...args], { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`ftprep ${args.join(" ")} exited ${code}: ${err.slice(-800)}`));
      const [user, sys, rssKb] = err.trim().split("\n").at(-1).split(" ").map(Number);
      resolve({ cpu: user + sys, rssMb: rssKb / 1024 });
    });
  });
}

/**
 * A `work --queue` process under /usr/bin/time, as `cli` runs it, that also notes where its CPU goes: the CPU it
 * has used (from /proc, read when it prints a unit's start or end — no polling) at its first unit's start (its
 * start-up: Node, the CLI, BullMQ, the Redis connection), at its first unit's end (the first unit: its code loaded
 * and still cold) and at its last unit's end, so the CPU of each further unit is (last − first end) / (units − 1).
 */
function worker(bin, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%U %S %M", bin, ...args], { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    let pid;
    const marks = { started: undefined, firstDone: undefined, lastDone: undefined, done: 0 };
    const cpuNow = () => {
      try {
        pid ??= Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0]) || undefined;
        return pid === undefined ? undefined : processCpu(pid);
      } catch {
        return undefined;
      }
    };
    child.stderr.on("data", (d) => {
      err += d;
      for (const line of String(d).split("\n")) {
        if (/^unit \S+ .*: started, attempt/.test(line)) marks.started ??= cpuNow();
        else if (/^unit \S+ .*: done, /.test(line)) {
          const now = cpuNow();
          marks.done++;
          marks.firstDone ??= now;
          marks.lastDone = now;
        }
      }
    });
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`ftprep ${args.join(" ")} exited ${code}: ${err.slice(-800)}`));
      const [user, sys, rssKb] = err.trim().split("\n").at(-1).split(" ").map(Number);
      const known = marks.started !== undefined && marks.firstDone !== undefined && marks.lastDone !== undefined;
      resolve({
        cpu: user + sys,
        rssMb: rssKb / 1024,
        startup: known ? marks.started : undefined,
        firstUnit: known ? marks.firstDone - marks.started : undefined,
        furtherUnit: known && marks.done > 1 ? (marks.lastDone - marks.firstDone) / (marks.done - 1) : undefined,
      });
    });
  });
}

/**
 * The local Files API as a user runs it: `ftprep serve` through the bin, on loopback, 20 ms per answer. Resolves
 * with its URL, its CPU so far (from /proc) and a stop function.
 */
async function startServe(bin, store) {
  const child = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", "0", "--store", store, "--latency", "20"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const url = await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`ftprep serve exited ${code}: ${err.slice(-800)}`)));
  });
  return {
    url,
    cpu: () => processCpu(child.pid),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGINT");
      await once(child, "exit");
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function processCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * `BENCH_QUEUE_UNITS` may name several sizes (`8,24`): each round then runs every size with 1, 2 and 3 workers, and
 * the time each is fitted, per worker count, as a fixed part plus a time per unit (a straight line through the
 * smallest and the largest size's medians). What is paid once per run (start-up, first unit) and what each unit adds
 * under contention then show apart, and so does the ratio that more units a worker would tend to: 2 × (1 worker's
 * time a unit) ÷ (2 workers' time a unit, each worker's share).
 */
export async function queueBench({ bin, out }) {
  const sizes = String(process.env.BENCH_QUEUE_UNITS ?? 8).split(",").map(Number);
  const unitMb = Number(process.env.BENCH_QUEUE_UNIT_MB ?? 4);
  const rounds = Number(process.env.BENCH_QUEUE_ROUNDS ?? 3);
  console.log(`\n# ftprep work --queue — throughput of 1, 2 and 3 workers (${sizes.join(" and ")} units of ${unitMb} MB per worker; Redis and the local Files API on loopback; ${rounds} interleaved rounds, medians)`);
  const redis = await startRedis();
  const counts = [1, 2, 3];
  const key = (size, n) => `${size}:${n}`;
  const runs = new Map(sizes.flatMap((size) => counts.map((n) => [key(size, n), []])));
  const loads = [loadAverage()];
  let seed = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const unitsPerWorker of sizes) {
        for (const workers of counts) {
          const dir = join(out, `queue-${workers}`);
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(join(dir, "data"), { recursive: true });
          const units = unitsPerWorker * workers;
          // New content for every run (another seed), so nothing is found already uploaded.
          for (let i = 0; i < units; i++) await generate(join(dir, "data", `part-${String(i).padStart(3, "0")}-train.jsonl`), unitMb * 1e6, 1000 * ++seed);
          const server = await startServe(bin, join(dir, "store"));
          try {
            const name = `bench-${workers}-${round}-${Date.now()}`;
            await cli(bin, ["plan", "data", "--out", "plan.json", "--unit-bytes", "1GB", "--enqueue", redis.url, "--queue-name", name], dir);
            const started = process.hrtime.bigint();
            const serverBefore = server.cpu();
            const redisBefore = redis.cpu();
            const ran = await Promise.all(
              Array.from({ length: workers }, (_, w) =>
                worker(bin, ["work", "--queue", redis.url, "--queue-name", name, "--base-url", server.url, "--api-key", "bench", "--out", `out-${w}`, "--manifest", `merged-${w}.json`], dir),
              ),
            );
            const cpu = ran.map((r) => r.cpu);
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            const serverCpu = server.cpu() - serverBefore;
            runs.get(key(unitsPerWorker, workers)).push({
              units,
              seconds,
              perSecond: units / seconds,
              cpuPerUnit: cpu.reduce((a, b) => a + b, 0) / units,
              serverPerUnit: serverCpu / units,
              redisPerUnit: (redis.cpu() - redisBefore) / units,
              workers: ran,
            });
          } finally {
            await server.stop();
          }
          rmSync(dir, { recursive: true, force: true });
        }
      }
      loads.push(loadAverage());
    }
  } finally {
    redis.stop();
  }
  const known = (values) => values.filter((v) => v !== undefined);
  for (const size of sizes) {
    if (sizes.length > 1) console.log(`\n## ${size} units a worker`);
    const base = median(runs.get(key(size, 1)).map((r) => r.perSecond));
    for (const n of counts) {
      const list = runs.get(key(size, n));
      const rate = median(list.map((r) => r.perSecond));
      console.log(
        `${n} worker(s): ${list[0].units} units, median ${median(list.map((r) => r.seconds)).toFixed(2)} s (${list.map((r) => r.seconds.toFixed(2)).join(", ")}), ${rate.toFixed(2)} units/s, ratio ${(rate / base).toFixed(2)}×; CPU a unit: workers ${median(list.map((r) => r.cpuPerUnit)).toFixed(3)} s + server ${median(list.map((r) => r.serverPerUnit)).toFixed(3)} s + Redis ${median(list.map((r) => r.redisPerUnit)).toFixed(3)} s`,
      );
    }
    // Where a worker's CPU goes: what it pays once (start-up, its first unit) against what each further unit costs.
    for (const n of counts) {
      const ws = runs.get(key(size, n)).flatMap((r) => r.workers);
      const phase = (name, digits) => (known(ws.map((w) => w[name])).length > 0 ? median(known(ws.map((w) => w[name]))).toFixed(digits) : "?");
      console.log(
        `${n} worker(s), a worker's CPU by phase (medians of ${ws.length}): start-up ${phase("startup", 2)} s, first unit ${phase("firstUnit", 2)} s, each further unit ${phase("furtherUnit", 3)} s; peak RSS ${phase("rssMb", 1)} MB (max ${Math.max(...ws.map((w) => w.rssMb)).toFixed(1)})`,
      );
    }
  }
  if (sizes.length > 1) {
    const [a, b] = [Math.min(...sizes), Math.max(...sizes)];
    const seconds = (size, n) => median(runs.get(key(size, n)).map((r) => r.seconds));
    const fit = (n) => {
      const perUnit = (seconds(b, n) - seconds(a, n)) / (b - a);
      return { perUnit, fixed: seconds(a, n) - a * perUnit };
    };
    const fits = counts.map(fit);
    console.log(`\nfitted as fixed + units a worker × time a unit (through ${a} and ${b} units a worker): ${counts.map((n, i) => `${n} worker(s) ${fits[i].fixed.toFixed(2)} s + ${fits[i].perUnit.toFixed(4)} s a unit`).join("; ")}`);
    if (fits.some((f) => !(f.perUnit > 0))) console.log("ratio the units alone allow: not measurable here (a run's time did not grow with its units: the machine's load moved)");
    else console.log(
      `ratio the units alone allow (as the units a worker grow): ${counts.slice(1).map((n, i) => `${n} workers ${((n * fits[0].perUnit) / fits[i + 1].perUnit).toFixed(2)}×`).join(", ")}; with the fixed parts alike (${a} units a worker): ${counts.slice(1).map((n, i) => `${n} workers ${((n * (fits[0].fixed + a * fits[0].perUnit)) / (fits[0].fixed + a * fits[i + 1].perUnit)).toFixed(2)}×`).join(", ")}`,
    );
  }
  const first = sizes[0];
  const two = median(runs.get(key(first, 2)).map((r) => r.perSecond)) / median(runs.get(key(first, 1)).map((r) => r.perSecond));
  console.log(`load average (1 min) before and after each round: ${loads.join(", ")}`);
  console.log(`2-worker ratio ≥ 1.7×${sizes.length > 1 ? ` (${first} units a worker)` : ""}: ${two >= 1.7 ? "met" : "NOT MET"} (${two.toFixed(2)}×; 2 cores here, shared with whatever else runs)`);
  return true;
}
