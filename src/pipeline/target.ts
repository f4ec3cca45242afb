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

/**
 * Opens the provider to talk to. A manifest's own target wins unless a base URL is given: a manifest made on the
 * embedded server reopens it on that store. Otherwise: the key and base URL from the options or the environment;
 * with neither, the embedded server on `store`.
 */
export async function openTarget(name: ProviderName, options: TargetOptions): Promise<Target> {
  const env = options.env ?? process.env;
  let { key, base } = keyOf(name, options, env);
  const make = (baseUrl: string, apiKey: string | undefined): FilesProvider & JobsProvider => {
    const client = { baseUrl, ...(apiKey !== undefined ? { apiKey } : {}), userAgent: `ftprep/${toolVersion()}` };
    return name === "mistral" ? new MistralProvider(client) : new OpenAIProvider(client);
  };
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
    const server = await startServer({ store: dir, port: 0 });
    const baseUrl = name === "mistral" ? server.url : `${server.url}/v1`;
    options.onNotice?.(`no ${name === "mistral" ? "MISTRAL" : "OPENAI"}_API_KEY and no base URL: using the embedded local Files API at ${server.url} (store ${dir})`);
    const provider = make(baseUrl, undefined);
    return {
      provider,
      baseUrl,
      target: embeddedTarget(dir),
      server,
      store: dir,
      async close() {
        await provider.close();
        await server.close();
      },
    };
  }
  const baseUrl = (base ?? (name === "mistral" ? MISTRAL_BASE_URL : OPENAI_BASE_URL)).replace(/\/+$/, "");
  try {
    new URL(baseUrl);
  } catch {
    throw new ConfigError(`the base URL ${JSON.stringify(baseUrl)} is not a URL`);
  }
  const provider = make(baseUrl, key);
  return { provider, baseUrl, target: baseUrl, server: undefined, store: null, close: () => provider.close() };
}
