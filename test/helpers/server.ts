import { afterEach } from "vitest";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/server.js";

/** Starts local servers for a test and closes every one of them after it (closing twice is harmless). */
export function useServers(): (options?: ServerOptions) => Promise<RunningServer> {
  const running: RunningServer[] = [];
  afterEach(async () => {
    for (const server of running.splice(0)) await server.close();
  });
  return async (options) => {
    const server = await startServer(options);
    running.push(server);
    return server;
  };
}

/** The sha256 of every file the local server holds (listed over HTTP, read from its store), in list order. */
export async function storedSha256(server: RunningServer): Promise<string[]> {
  const { readFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const list = (await (await fetch(`${server.url}/v1/files?page_size=1000`)).json()) as { data: { id: string }[] };
  return Promise.all(list.data.map(async (f) => (JSON.parse(await readFile(join(server.store, "files", `${f.id}.json`), "utf8")) as { sha256: string }).sha256));
}
