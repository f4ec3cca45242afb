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
