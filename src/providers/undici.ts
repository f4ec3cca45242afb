import { createRequire } from "node:module";
import type { Agent as UndiciAgent, Dispatcher, errors as UndiciErrors } from "undici";

/**
 * The parts of undici ftprep uses — `Agent`, its error classes and `Dispatcher#request` — loaded on first use and
 * alone. undici's index loads every part it has (fetch, WebSocket, the cache stores, the mock agents, the proxy
 * agents: some 110 modules, about 0.2 s of CPU in every process that imports it); the agent and the request API are
 * about 25 of them, a third of that CPU. undici has no `exports` map, so these files are reachable; should a later
 * version move them, the whole package is loaded instead (slower, the same behaviour).
 */
export interface HttpParts {
  Agent: typeof UndiciAgent;
  errors: typeof UndiciErrors;
  /** How the parts were loaded: "parts" (the agent and the request API alone) or "index" (the whole package). */
  loaded: "parts" | "index";
}

const require = createRequire(import.meta.url);
let parts: HttpParts | undefined;

export function httpParts(): HttpParts {
  if (parts) return parts;
  try {
    const Agent = require("undici/lib/dispatcher/agent.js") as typeof UndiciAgent;
    const errors = require("undici/lib/core/errors.js") as typeof UndiciErrors;
    const Base = require("undici/lib/dispatcher/dispatcher.js") as { prototype: Partial<Dispatcher> };
    // undici's index gives every dispatcher its API the same way (Object.assign(Dispatcher.prototype, api)); the
    // function is the module's own, so loading the index later changes nothing.
    Base.prototype.request ??= require("undici/lib/api/api-request.js") as Dispatcher["request"];
    if (typeof Agent !== "function" || typeof errors?.HeadersTimeoutError !== "function" || typeof Base.prototype.request !== "function") throw new Error("undici's layout changed");
    parts = { Agent, errors, loaded: "parts" };
  } catch {
    const undici = require("undici") as typeof import("undici");
    parts = { Agent: undici.Agent, errors: undici.errors, loaded: "index" };
  }
  return parts;
}

/** `request(url, options)` as undici's index has it, on a given dispatcher: the URL cut into origin and path. */
export function sendRequest(
  dispatcher: Dispatcher,
  url: string,
  options: Omit<Dispatcher.RequestOptions, "origin" | "path">,
): Promise<Dispatcher.ResponseData> {
  const parsed = new URL(url);
  return dispatcher.request({ ...options, origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` });
}
