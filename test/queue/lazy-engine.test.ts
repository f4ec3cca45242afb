import { execFile } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

describe("the queue engine's packages", () => {
  it("are not loaded by importing the library (a caller who only validates does not load BullMQ and ioredis)", async () => {
    const index = pathToFileURL(join(process.cwd(), "dist", "index.js")).href;
    const script = `import { createRequire } from "node:module";
const lib = await import(${JSON.stringify(index)});
const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\\\/]node_modules[\\\\/](bullmq|ioredis)[\\\\/]/.test(k)).length;
console.log(JSON.stringify({ loaded: loaded(), exported: typeof lib.runQueueWorker }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script]);
    expect(JSON.parse(stdout)).toEqual({ loaded: 0, exported: "function" });
  });
});
