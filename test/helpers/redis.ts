import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";

const repo = join(import.meta.dirname, "..", "..");

/** A port free on 127.0.0.1 right now (the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/**
 * A real Redis for the file's tests: `scripts/ensure-redis.sh` installs Debian's redis-server when it is missing
 * (a fresh CI machine), then one is started on 127.0.0.1, a random port, with no persistence, and stopped after.
 * Returns a getter of its `redis://` URL.
 */
export function useRedis(): () => string {
  let server: ChildProcess | undefined;
  let url = "";
  beforeAll(async () => {
    await promisify(execFile)("bash", [join(repo, "scripts", "ensure-redis.sh")], { timeout: 600_000 }).catch((error: { stderr?: string }) => {
      throw new Error(error.stderr?.trim() || String(error));
    });
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      const ready = await new Promise<boolean>((resolve) => {
        server!.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("Ready to accept connections")) resolve(true);
        });
        server!.once("exit", () => resolve(false));
      });
      if (ready) {
        url = `redis://127.0.0.1:${port}`;
        return;
      }
      // The port was taken between the probe and the start: another one.
      if (attempt >= 3) throw new Error(`redis-server did not start: ${out.slice(-500)}`);
    }
  }, 600_000);
  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await once(server, "exit");
    }
  });
  return () => url;
}
