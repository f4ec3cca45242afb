import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import type { Manifest } from "../manifest/manifest.js";
import { MISTRAL_BASE_URL, MistralProvider } from "../providers/mistral.js";
import { OPENAI_BASE_URL, OpenAIProvider } from "../providers/openai.js";
import type { FilesProvider, JobsProvider, ProviderName } from "../providers/types.js";
import { DEFAULT_STORE, type RunningServer, startServer } from "../server/server.js";

/** Where files and jobs go: a provider's API, or the embedded local server. */

export function toolVersion(): string {
  return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

export interface TargetOptions {
  baseUrl?: string;
  /** A pipeline file's base URL: used when neither the options nor the environment name one. */
  pipelineBaseUrl?: string;
  apiKey?: string;
  env?: Record<string, string | undefined>;
  /** The embedded server's store (default `.ftprep/store`). */
  store?: string;
  /** A manifest to follow: its provider and target (reopening the embedded server on its store). */
  manifest?: Manifest;
  onNotice?: (message: string) => void;
}

export interface Target {
  provider: FilesProvider & JobsProvider;
  baseUrl: string;
  /** Identity for deduplication: the base URL, or `embedded:<store>` (the embedded server's port changes). */
  target: string;
  server: RunningServer | undefined;
  store: string | null;
  close(): Promise<void>;
}

export function keyOf(name: ProviderName, options: TargetOptions, env: Record<string, string | undefined>): { key: string | undefined; base: string | undefined } {
  const prefix = name === "mistral" ? "MISTRAL" : "OPENAI";
  return { key: options.apiKey ?? env[`${prefix}_API_KEY`], base: options.baseUrl ?? env[`${prefix}_BASE_URL`] ?? options.pipelineBaseUrl };
}

/** The embedded server's identity in a manifest: its store, not its port (a new one every run). */
export function embeddedTarget(store: string): string {
  return `embedded:${resolve(store)}`;
}

const EMBEDDED = "embedded:";

/** Where a run goes, decided without opening anything: the embedded server on a store, or a base URL with a key. */
export type ResolvedTarget =
  | { embedded: true; store: string; target: string }
  | { embedded: false; baseUrl: string; key: string | undefined; target: string };

/**
 * Decides the target. A manifest's own target wins unless a base URL is given: a manifest made on the embedded
 * server names its store. Otherwise the key and base URL come from the options or the environment; with neither,
 * the embedded server on `store`.
 */
export function resolveTarget(name: ProviderName, options: TargetOptions): ResolvedTarget {
  let { key, base } = keyOf(name, options, options.env ?? process.env);
  let store = options.store;
  if (options.manifest && options.baseUrl === undefined) {
    if (options.manifest.target.startsWith(EMBEDDED)) {
      store = options.manifest.target.slice(EMBEDDED.length);
      key = undefined;
      base = undefined;
    } else {
      base = options.manifest.base_url;
    }
  }
  if (key === undefined && base === undefined) {
    const dir = store ?? DEFAULT_STORE;
    return { embedded: true, store: dir, target: embeddedTarget(dir) };
  }
  const baseUrl = (base ?? (name === "mistral" ? MISTRAL_BASE_URL : OPENAI_BASE_URL)).replace(/\/+$/, "");
  try {
    new URL(baseUrl);
  } catch {
    throw new ConfigError(`the base URL ${JSON.stringify(baseUrl)} is not a URL`);
  }
  return { embedded: false, baseUrl, key, target: baseUrl };
}

/** Opens the provider to talk to (starting the embedded server when that is the target). */
export async function openTarget(name: ProviderName, options: TargetOptions): Promise<Target> {
  const resolved = resolveTarget(name, options);
  const make = (baseUrl: string, apiKey: string | undefined): FilesProvider & JobsProvider => {
    const client = { baseUrl, ...(apiKey !== undefined ? { apiKey } : {}), userAgent: `ftprep/${toolVersion()}` };
    return name === "mistral" ? new MistralProvider(client) : new OpenAIProvider(client);
  };
  if (resolved.embedded) {
    const server = await startServer({ store: resolved.store, port: 0 });
    const baseUrl = name === "mistral" ? server.url : `${server.url}/v1`;
    options.onNotice?.(`no ${name === "mistral" ? "MISTRAL" : "OPENAI"}_API_KEY and no base URL: using the embedded local Files API at ${server.url} (store ${resolved.store})`);
    const provider = make(baseUrl, undefined);
    return {
      provider,
      baseUrl,
      target: resolved.target,
      server,
      store: resolved.store,
      async close() {
        await provider.close();
        await server.close();
      },
    };
  }
  const provider = make(resolved.baseUrl, resolved.key);
  return { provider, baseUrl: resolved.baseUrl, target: resolved.target, server: undefined, store: null, close: () => provider.close() };
}
