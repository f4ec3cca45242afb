import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const index = pathToFileURL(join(process.cwd(), "dist", "index.js")).href;
const queueModule = pathToFileURL(join(process.cwd(), "dist", "queue", "queue.js")).href;
const cliMain = pathToFileURL(join(process.cwd(), "dist", "cli", "main.js")).href;
const store = mkdtempSync(join(tmpdir(), "ftprep-lazy-"));
afterAll(() => rmSync(store, { recursive: true, force: true }));

/** Runs an ES module script in a fresh Node process (nothing loaded yet) and parses the JSON it prints. */
async function fresh(script: string): Promise<unknown> {
  const prelude = `import { createRequire } from "node:module";
const cache = () => Object.keys(createRequire(import.meta.url).cache);
const count = (re) => cache().filter((k) => re.test(k)).length;
`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", prelude + script]);
  return JSON.parse(stdout);
}

describe("the queue engine's packages", () => {
  it("are not loaded by importing the library (a caller who only validates does not load BullMQ and ioredis)", async () => {
    const result = await fresh(`const lib = await import(${JSON.stringify(index)});
console.log(JSON.stringify({ loaded: count(/[\\\\/]node_modules[\\\\/](bullmq|ioredis)[\\\\/]/), exported: typeof lib.runQueueWorker }));`);
    expect(result).toEqual({ loaded: 0, exported: "function" });
  });

  it("load BullMQ's classes without its index (its Postgres backend, relay and queue events stay unloaded)", async () => {
    const result = await fresh(`const queue = await import(${JSON.stringify(queueModule)});
const error = queue.unrecoverable("no");
console.log(JSON.stringify({
  name: error.name,
  bullmqIndex: count(/[\\\\/]bullmq[\\\\/]dist[\\\\/]cjs[\\\\/]index\\.js$/),
  worker: count(/[\\\\/]bullmq[\\\\/]dist[\\\\/]cjs[\\\\/]classes[\\\\/]worker\\.js$/),
  unused: count(/[\\\\/]bullmq[\\\\/]dist[\\\\/]cjs[\\\\/](postgres[\\\\/]|classes[\\\\/](relay|queue-events|valkey-glide-client)\\.js$)/),
}));`);
    expect(result).toEqual({ name: "UnrecoverableError", bullmqIndex: 0, worker: 1, unused: 0 });
  });
});

describe("undici", () => {
  it("is not loaded by importing the library, and a request loads its agent and request API, not its index", async () => {
    const result = await fresh(`const lib = await import(${JSON.stringify(index)});
const undici = () => count(/[\\\\/]node_modules[\\\\/]undici[\\\\/]/);
const atImport = undici();
const server = await lib.startServer({ store: ${JSON.stringify(store)}, port: 0 });
const client = lib.createProviderClient("mistral", { baseUrl: server.url, apiKey: "k" });
let missing;
try {
  missing = await client.findExisting("none.jsonl", 1);
} finally {
  await server.close();
}
// A refused connection is still told as ftprep's ConnectionError through the agent loaded alone.
const refused = await lib.createProviderClient("mistral", { baseUrl: server.url, apiKey: "k" }).findExisting("x.jsonl", 1).then(() => "answered", (e) => e.code);
console.log(JSON.stringify({
  atImport,
  afterRequest: undici() > 0,
  index: count(/[\\\\/]node_modules[\\\\/]undici[\\\\/]index\\.js$/),
  fetch: count(/[\\\\/]node_modules[\\\\/]undici[\\\\/]lib[\\\\/]web[\\\\/]/),
  missing: missing ?? null,
  refused,
}));`);
    expect(result).toEqual({ atImport: 0, afterRequest: true, index: 0, fetch: 0, missing: null, refused: "ERR_CONNECTION" });
  });
});

describe("a command that makes no HTTP request", () => {
  it("ftprep validate loads neither undici nor BullMQ (about 0.2 s of CPU and 8 MB of RSS that undici's index cost every command)", async () => {
    const fixture = join(process.cwd(), "fixtures", "datasets", "mistral-chat");
    const result = await fresh(`const { main } = await import(${JSON.stringify(cliMain)});
let out = "";
const code = await main(["node", "ftprep", "validate", "--json", ${JSON.stringify(fixture)}], { stdout: (t) => (out += t), stderr: () => {}, exitCode: 0 });
console.log(JSON.stringify({ code, ok: JSON.parse(out).ok, undici: count(/[\\\\/]node_modules[\\\\/]undici[\\\\/]/), queue: count(/[\\\\/]node_modules[\\\\/](bullmq|ioredis)[\\\\/]/) }));`);
    expect(result).toEqual({ code: 0, ok: true, undici: 0, queue: 0 });
  });
});
