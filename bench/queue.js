// Queue benchmark (`npm run bench`, part "queue"): throughput of 1, 2 and 3 `ftprep work --queue` processes on this
// machine. Each run gets N× the units of the one-worker run (weak scaling: N workers, N shares), so the ratio
// (N·units / time with N) ÷ (units / time with 1) is N when the workers do not slow each other down. Units are
// local files of generated records (no network but loopback): a real Redis (Debian's redis-server, installed by
// scripts/ensure-redis.sh) and the local Files API with 20 ms per request, all started here on 127.0.0.1.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { startServer } from "../dist/index.js";
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
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") };
}

function cli(bin, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ftprep ${args.join(" ")} exited ${code}: ${err.slice(-800)}`))));
  });
}

export async function queueBench({ bin, out }) {
  const unitsPerWorker = Number(process.env.BENCH_QUEUE_UNITS ?? 8);
  const unitMb = Number(process.env.BENCH_QUEUE_UNIT_MB ?? 4);
  console.log(`\n# ftprep work --queue — throughput of 1, 2 and 3 workers (${unitsPerWorker} units of ${unitMb} MB per worker; Redis and the local Files API on loopback)`);
  const redis = await startRedis();
  const results = [];
  try {
    for (const workers of [1, 2, 3]) {
      const dir = join(out, `queue-${workers}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, "data"), { recursive: true });
      const units = unitsPerWorker * workers;
      // New content for every run (another seed), so nothing is found already uploaded.
      for (let i = 0; i < units; i++) await generate(join(dir, "data", `part-${String(i).padStart(3, "0")}-train.jsonl`), unitMb * 1e6, 1000 * workers + i);
      const server = await startServer({ store: join(dir, "store"), port: 0, faults: { latencyMs: 20 } });
      try {
        const name = `bench-${workers}-${Date.now()}`;
        await cli(bin, ["plan", "data", "--out", "plan.json", "--unit-bytes", "1GB", "--enqueue", redis.url, "--queue-name", name], dir);
        const started = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: workers }, (_, w) =>
            cli(bin, ["work", "--queue", redis.url, "--queue-name", name, "--base-url", server.url, "--api-key", "bench", "--out", `out-${w}`, "--manifest", `merged-${w}.json`, "--quiet"], dir),
          ),
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        results.push({ workers, units, seconds, perSecond: units / seconds });
      } finally {
        await server.close();
      }
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    redis.stop();
  }
  const base = results[0].perSecond;
  for (const r of results) console.log(`${r.workers} worker(s): ${r.units} units in ${r.seconds.toFixed(2)} s, ${r.perSecond.toFixed(2)} units/s, ratio ${(r.perSecond / base).toFixed(2)}×`);
  const two = results[1].perSecond / base;
  console.log(`2-worker ratio ≥ 1.7×: ${two >= 1.7 ? "met" : "NOT MET"} (${two.toFixed(2)}×; 2 cores here, shared with whatever else runs)`);
  return true;
}
