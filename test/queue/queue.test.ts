import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { type AddressInfo, connect, createServer } from "node:net";
import { join } from "node:path";
import { hostname } from "node:os";
import { Queue, Worker as BullWorker } from "bullmq";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { checkManifest, type Manifest } from "../../src/manifest/manifest.js";
import type { ShardPlan } from "../../src/plan/shard-plan.js";
import { unitThreads } from "../../src/cli/queue.js";
import { countLocalWorkers, workerName } from "../../src/queue/queue.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useRedis } from "../helpers/redis.js";
import { useS3 } from "../helpers/s3.js";
import { storedSha256, useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const redis = useRedis();
const s3 = useS3(["corpus"]);
const tmp = useTempDir("queue");
const serve = useServers();

interface Worker {
  child: ChildProcess;
  stderr: string;
  exited: Promise<number | null>;
}

/** `ftprep work --queue` as a process of its own (the built CLI), reaching S3 through the environment. */
function startWorker(args: string[], env: Record<string, string>): Worker {
  const child = spawn(process.execPath, [join(repo, "bin", "ftprep.js"), "work", ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const worker: Worker = { child, stderr: "", exited: once(child, "exit").then(([code]) => code as number | null) };
  child.stderr!.on("data", (d: Buffer) => (worker.stderr += d.toString()));
  child.stdout!.resume();
  return worker;
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the queue executor: BullMQ on a real Redis, three worker processes, one killed mid-unit", () => {
  it("does every unit, uploads each file once, merges one manifest that jobs create took, and shows it in queue status", async () => {
    await s3().put("corpus", "chats/big-train.jsonl", chatLines(200, 0, 20));
    for (let i = 0; i < 4; i++) await s3().put("corpus", `chats/part-${i}-train.jsonl`, chatLines(12, 1000 * (i + 1)));
    await s3().put("corpus", "chats/validation.jsonl", chatLines(8, 9000));
    // Each request waits 300 ms: a unit takes long enough to be killed in the middle of.
    const server = await serve({ store: join(tmp(), "store"), faults: { latencyMs: 300 } });
    const planPath = join(tmp(), "plan.json");
    const queue = ["--queue-name", "e2e"];
    const p = await runCli("plan", "s3://corpus/chats/", "--out", planPath, "--unit-bytes", "10kB", "--enqueue", redis(), ...queue, "--job-model", "open-mistral-7b", "--hyperparameter", "training_steps=10", "--json");
    expect(p.code, p.stderr).toBe(0);
    const plan = JSON.parse(await readFile(planPath, "utf8")) as ShardPlan;
    expect(plan.units.length).toBeGreaterThan(6);
    // Enqueueing the same plan again adds nothing.
    expect((await runCli("plan", "s3://corpus/chats/", "--out", planPath, "--unit-bytes", "10kB", "--enqueue", redis(), ...queue)).code).toBe(0);

    const common = ["--queue", redis(), ...queue, "--base-url", server.url, "--api-key", "k-local-queue", "--stalled-after", "3s"];
    const workers = [0, 1, 2].map((i) => startWorker([...common, "--out", join(tmp(), `out-${i}`), "--manifest", join(tmp(), `merged-${i}.json`)], s3().env));
    const victim = workers[0]!;
    await until(() => /started, attempt 1/.test(victim.stderr), "the first worker to start a unit", 60_000);
    const killed = /unit (u[0-9a-f]{20})/.exec(victim.stderr)![1]!;
    victim.child.kill("SIGKILL");
    const codes = await Promise.all(workers.slice(1).map((w) => w.exited));
    expect(codes, workers.map((w) => w.stderr).join("\n---\n")).toEqual([0, 0]);
    expect(await victim.exited).toBe(null);
    // The killed worker's unit was handed to another worker and done there.
    expect(workers.slice(1).some((w) => new RegExp(`unit ${killed} .*: done`).test(w.stderr))).toBe(true);

    const status = await runCli("queue", "status", "--queue", redis(), ...queue, "--json", "--manifest-out", join(tmp(), "final.json"));
    expect(status.code, status.stderr).toBe(0);
    const doc = JSON.parse(status.stdout) as { units: { total: number; completed: number; failed: number }; merges: { state: string; files: number }[] };
    expect(doc.units).toEqual({ total: plan.units.length, completed: plan.units.length, failed: 0 });
    expect(doc.merges).toEqual([expect.objectContaining({ state: "completed", files: plan.units.length })]);

    const manifest = JSON.parse(await readFile(join(tmp(), "final.json"), "utf8")) as Manifest;
    expect(checkManifest(manifest)).toBeUndefined();
    expect(manifest.files).toHaveLength(plan.units.length);
    const stored = await storedSha256(server);
    expect(stored.length).toBe(new Set(stored).size);
    expect([...stored].sort()).toEqual(manifest.files.map((f) => f.sha256).sort());
    expect(manifest.jobs).toHaveLength(1);
    expect(manifest.jobs[0]).toMatchObject({ model: "open-mistral-7b" });
    expect(JSON.stringify(manifest)).not.toContain("k-local-queue");
  }, 120_000);

  it("a worker frozen (SIGSTOP) past --stalled-after loses its unit to another; woken, it sends nothing: the file is uploaded once", async () => {
    const dir = join(tmp(), "frozen");
    await mkdir(dir);
    await writeFile(join(dir, "frozen-train.jsonl"), chatLines(20, 500));
    // Every upload request the server answers (Mistral's API would keep one file of the same name and content: the
    // requests, not the stored files, show whether the content was sent twice).
    const uploads: string[] = [];
    const server = await serve({ store: join(tmp(), "store-frozen"), onRequest: (e) => void (e.method === "POST" && e.path.startsWith("/v1/files") && uploads.push(e.path)) });
    const queue = ["--queue-name", "frozen"];
    const p = await runCli("plan", dir, "--out", join(tmp(), "frozen-plan.json"), "--enqueue", redis(), ...queue);
    expect(p.code, p.stderr).toBe(0);
    // The first worker reaches the Files API through a proxy that freezes it the moment it has asked whether its
    // file is there already: the answer ("no") waits in its socket while another worker takes the unit over.
    let victim: Worker | undefined;
    let frozen = false;
    const proxy = createServer((client) => {
      const upstream = connect(Number(new URL(server.url).port), "127.0.0.1");
      client.on("data", (d: Buffer) => {
        if (!frozen && /^GET \/v1\/files\?search=frozen-train/.test(d.toString("latin1"))) {
          frozen = true;
          victim!.child.kill("SIGSTOP");
        }
        upstream.write(d);
      });
      upstream.pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
    });
    proxy.listen(0, "127.0.0.1");
    await once(proxy, "listening");
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const common = ["--queue", redis(), ...queue, "--api-key", "k-local-queue", "--stalled-after", "1s", "--concurrency", "1"];
    try {
      victim = startWorker([...common, "--base-url", proxyUrl, "--out", join(tmp(), "out-frozen-a"), "--manifest", join(tmp(), "frozen-a.json")], {});
      await until(() => frozen, "the first worker to look its file up");
      const other = startWorker([...common, "--base-url", server.url, "--out", join(tmp(), "out-frozen-b"), "--manifest", join(tmp(), "frozen-b.json")], {});
      expect(await other.exited, other.stderr).toBe(0);
      expect(other.stderr).toMatch(/: done, 1 uploaded, 0 found already uploaded/);
      expect(other.stderr).toMatch(/merged the units' manifests: 1 file\(s\)/);
      victim.child.kill("SIGCONT");
      const code = await victim.exited;
      // The woken worker's stale "not there" did not lead to a second copy.
      expect(uploads, victim.stderr).toEqual(["/v1/files"]);
      expect(await storedSha256(server)).toHaveLength(1);
      expect(code, victim.stderr).toBe(0);
      expect(victim.stderr).toMatch(/another worker has taken it over \(this one stalled longer than --stalled-after\); left to it, nothing more sent from here/);
      expect(victim.stderr).not.toMatch(/: done,/);
    } finally {
      if (victim && victim.child.exitCode === null) {
        victim.child.kill("SIGCONT");
        victim.child.kill("SIGKILL");
      }
      proxy.close();
    }
  });

  it("fails a unit whose source changed after planning for good (ERR_SOURCE_CHANGED): nothing of it is sent, the other unit goes up", async () => {
    const dir = join(tmp(), "changing");
    await mkdir(dir);
    await writeFile(join(dir, "kept-train.jsonl"), chatLines(10, 100));
    const original = chatLines(10, 200);
    await writeFile(join(dir, "changed-train.jsonl"), original);
    const uploads: string[] = [];
    const server = await serve({ store: join(tmp(), "store-changed"), onRequest: (e) => void (e.method === "POST" && e.path.startsWith("/v1/files") && uploads.push(e.path)) });
    const queue = ["--queue-name", "changed"];
    const p = await runCli("plan", dir, "--out", join(tmp(), "changed-plan.json"), "--enqueue", redis(), ...queue, "--json");
    expect(p.code, p.stderr).toBe(0);
    // The same size, still valid records: only the sha256 of the bytes the unit's pass read tells the change.
    const changed = original.replace("user", "User");
    expect(changed.length).toBe(original.length);
    await writeFile(join(dir, "changed-train.jsonl"), changed);
    const w = await runCli("work", "--queue", redis(), ...queue, "--base-url", server.url, "--api-key", "k-local-queue", "--out", join(tmp(), "out-changed"), "--manifest", join(tmp(), "changed.json"), "--stalled-after", "2s");
    expect(w.code, w.stderr).toBe(3);
    expect(w.stderr).toMatch(/unit u[0-9a-f]{20} failed for good: unit u[0-9a-f]{20}: .*changed-train\.jsonl changed since it was planned \(sha256 [0-9a-f]{12}…, now [0-9a-f]{12}…\); plan again/);
    expect(w.stderr).toMatch(/kept-train\.jsonl\): done, 1 uploaded/);
    // One upload request in all: the kept file's.
    expect(uploads).toEqual(["/v1/files"]);
    expect(await storedSha256(server)).toHaveLength(1);
    const status = await runCli("queue", "status", "--queue", redis(), ...queue, "--json");
    const doc = JSON.parse(status.stdout) as { units: { completed: number; failed: number }; failed: { attempts: number; reason: string }[] };
    expect(doc.units).toMatchObject({ completed: 1, failed: 1 });
    expect(doc.failed).toEqual([expect.objectContaining({ attempts: 1, reason: expect.stringMatching(/changed since it was planned/) })]);
  });

  it("counts the workers of this machine (BullMQ's worker names) and shares the cores among them for a large unit", async () => {
    const connection = new Redis(redis(), { maxRetriesPerRequest: null });
    const names = [workerName(hostname(), 101), workerName(hostname(), 102), workerName("another-machine", 101)];
    const workers = names.map((name) => new BullWorker("counted", async () => undefined, { connection: connection.duplicate(), name }));
    const queue = new Queue("counted", { connection });
    try {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      const raw = (await queue.getWorkers()).map((w) => String(w.rawname));
      expect(countLocalWorkers(raw)).toBe(2);
      expect(countLocalWorkers(raw, "another-machine")).toBe(1);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      connection.disconnect();
    }
    const cores = (await import("node:os")).availableParallelism();
    const alone = { localWorkers: async () => 1 };
    const many = { localWorkers: async () => cores * 2 };
    expect(await unitThreads(4 << 20, alone)).toBe(1);
    expect(await unitThreads(64 << 20, alone)).toBe(cores);
    expect(await unitThreads(64 << 20, { localWorkers: async () => 2 })).toBe(Math.max(1, Math.floor(cores / 2)));
    expect(await unitThreads(64 << 20, many)).toBe(1);
  });

  it("fails a forged message for good (checked against the schema, the unit's id recomputed) and says why in queue status", async () => {
    const connection = new Redis(redis(), { maxRetriesPerRequest: null });
    const queue = new Queue("forged", { connection });
    try {
      await queue.add("unit", { version: 1, kind: "unit", plan_id: `p${"0".repeat(20)}`, options: {}, unit: { id: "u1", source: "/etc/passwd" } });
      const w = await runCli("work", "--queue", redis(), "--queue-name", "forged", "--stalled-after", "1s", "--manifest", join(tmp(), "m.json"));
      expect(w.code).toBe(3);
      const status = await runCli("queue", "status", "--queue", redis(), "--queue-name", "forged");
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/failed: .* after 1 attempt\(s\): not a valid ftprep queue message: \/options must have required property/);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it("says in one line when Redis cannot be reached (exit 3)", async () => {
    const r = await runCli("queue", "status", "--queue", "redis://127.0.0.1:1");
    expect([r.code, r.stderr]).toEqual([3, expect.stringMatching(/^ftprep: cannot connect to redis:\/\/127\.0\.0\.1:1 — is Redis running\? \(ECONNREFUSED\)\n$/)]);
  });
});
