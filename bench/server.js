// Local Files API server benchmark (`npm run bench`, part "server"): the server's peak RSS while it receives
// uploads of 10, 100 and 500 MB (each a fresh server process under /usr/bin/time -v, fed by curl streaming from
// disk) — flat means the 500 MB figure is no higher than the 100 MB one (within 10%) — and a 600 MB upload
// refused with 413 leaving nothing in the store.
import { spawn, execFile } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Starts `ftprep serve` under GNU time; resolves with its URL and a `stop()` that returns its peak RSS in MB. */
export async function timedServer(bin, store) {
  const child = spawn("/usr/bin/time", ["-v", bin, "serve", "--store", store], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (line) => {
      const m = /listening on (\S+)/.exec(line);
      m ? resolve(m[1]) : reject(new Error(line));
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
  });
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      // GNU time forwards no signal: stop the server itself (the time process's only child).
      const { stdout } = await run("pgrep", ["-P", String(child.pid)]);
      process.kill(Number(stdout.trim().split("\n")[0]), "SIGTERM");
      await exited;
      const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
      return kb / 1000;
    },
  };
}

/** Uploads a file with curl (streamed from disk); returns the HTTP status and seconds. */
export async function curlUpload(url, path) {
  const started = performance.now();
  const { stdout } = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-F", "purpose=fine-tune", "-F", `file=@${path}`, `${url}/v1/files`], {
    maxBuffer: 1 << 20,
  });
  return { status: Number(stdout), seconds: (performance.now() - started) / 1000 };
}

export async function serverBench({ bin, out, dataset }) {
  console.log(`\n# ftprep serve — receiving uploads (server peak RSS, /usr/bin/time -v; client: curl -F file=@…)`);
  const sizes = [["10 MB", await dataset(10)], ["100 MB", await dataset(100)], ["500 MB", await dataset(500)]];
  const huge = await dataset(600);
  const figures = {};
  for (const [name, path] of sizes) {
    const store = join(out, `store-${name.replace(" ", "")}`);
    rmSync(store, { recursive: true, force: true });
    const server = await timedServer(bin, store);
    const upload = await curlUpload(server.url, path);
    figures[name] = await server.stop();
    console.log(`${name} upload: HTTP ${upload.status} in ${upload.seconds.toFixed(2)} s; server peak RSS ${figures[name].toFixed(1)} MB`);
  }
  // Socket read buffers are freed by V8 only once their total passes its external-memory threshold, so RSS rises
  // from the 10 MB figure to a plateau; what must not happen is growth beyond it with the upload's size.
  const ratio = figures["500 MB"] / figures["100 MB"];
  const flat = ratio <= 1.1 && figures["500 MB"] <= 150;
  console.log(`500 MB / 100 MB: ${ratio.toFixed(2)}× (flat: ≤ 1.1× and ≤ 150 MB: ${flat ? "met" : "NOT MET"})`);

  const store = join(out, "store-600MB");
  rmSync(store, { recursive: true, force: true });
  const server = await timedServer(bin, store);
  const refused = await curlUpload(server.url, huge);
  const rss = await server.stop();
  const left = readdirSync(join(store, "files")).length + readdirSync(join(store, "tmp")).length;
  console.log(`600 MB upload: HTTP ${refused.status}; files left in the store: ${left}; server peak RSS ${rss.toFixed(1)} MB`);
  return flat && refused.status === 413 && left === 0;
}
