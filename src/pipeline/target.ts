import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { redactUrl, registerSecret } from "../redact.js";
import type { Manifest } from "../manifest/manifest.js";
import { createProviderClient } from "../providers/registry.js";
import type { FilesProvider, JobsProvider, ProviderName } from "../providers/types.js";
import { DEFAULT_STORE } from "../defaults.js";
import type { RunningServer } from "../server/server.js";
import { providerSpec } from "../target/registry.js";

/** Where files and jobs go: a provider's API, or the embedded local server. */

let version: string | undefined;

/** ftprep's own version (package.json's), read once: a queue worker asks for it for every unit. */
export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return version;
}

export interface TargetOptions {
  /** The API's base URL (default: `MISTRAL_BASE_URL` / `OPENAI_BASE_URL` / `TOGETHER_BASE_URL`, else the public API; an empty one is none). */
  baseUrl?: string;
  /**
   * A pipeline file's base URL: used when neither the options nor the environment name one, and then only when it
   * is the provider's public API or `trustPipelineUrl` is set (a pipeline file is data: it does not choose on its
   * own where the files and the key go).
   */
  pipelineBaseUrl?: string;
  /** The user's say (`--trust-pipeline-url`) that a pipeline file's base URL may receive the files and the key. */
  trustPipelineUrl?: boolean;
  /**
   * The API key (default: `MISTRAL_API_KEY` / `OPENAI_API_KEY` / `TOGETHER_API_KEY`; an empty one is no key). Never
   * printed, logged or written.
   */
  apiKey?: string;
  /** The environment the defaults come from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** The embedded server's store, when there is no key and no base URL (default `.ftprep/store`). */
  store?: string;
  /** A manifest to follow: its provider and target (reopening the embedded server on its store). */
  manifest?: Manifest;
  /** Told of things worth a line on stderr (the embedded server starting, …). */
  onNotice?: (message: string) => void;
  /** Milliseconds each HTTP request may wait for the answer's headers, and between body chunks (default 10 min). */
  requestTimeoutMs?: number;
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

/** A value as given: an empty one (`MISTRAL_API_KEY=` in a shell or an `.env` file, `--api-key ""`, `--base-url ""`) is none, as an unset variable is. */
function given(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}

/** The provider's `…_BASE_URL` from the environment, if set to something. */
function envBaseUrl(name: ProviderName, env: Record<string, string | undefined>): string | undefined {
  return given(env[`${providerSpec(name).envPrefix}_BASE_URL`]);
}

export function keyOf(name: ProviderName, options: TargetOptions, env: Record<string, string | undefined>): { key: string | undefined; base: string | undefined } {
  const key = given(options.apiKey) ?? given(env[`${providerSpec(name).envPrefix}_API_KEY`]);
  registerSecret(key);
  return { key, base: given(options.baseUrl) ?? envBaseUrl(name, env) ?? options.pipelineBaseUrl };
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

/** A base URL as ftprep compares and records it: no trailing slash. */
function normalBase(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * Decides the target. A manifest is untrusted input (it may have been committed or sent by someone else), so it
 * never chooses on its own a directory to open or a URL to send the key to:
 * - a manifest made on the embedded server names its store; that store is opened only when it is the one the
 *   user names (`store`, default `.ftprep/store`), otherwise a ConfigError says which `--store` to pass;
 * - a manifest's base URL is used when no key would be sent (no key), or when it is the base URL the user
 *   configured (option, environment, pipeline, else the provider's public API); a key and another URL are a
 *   ConfigError that says which `--base-url` to pass.
 * An explicit base URL option always wins over the manifest. With no manifest: the key and base URL from the
 * options or the environment; with neither, the embedded server on `store`.
 */
export function resolveTarget(name: ProviderName, options: TargetOptions): ResolvedTarget {
  const env = options.env ?? process.env;
  let { key, base } = keyOf(name, options, env);
  // An empty base URL option (`--base-url ""`) is none, as an empty `…_BASE_URL=` is: the environment's, the
  // manifest's or the pipeline file's is then in force, as with no option.
  const optionBase = given(options.baseUrl);
  const fromPipeline = optionBase === undefined && envBaseUrl(name, env) === undefined ? options.pipelineBaseUrl : undefined;
  if (fromPipeline !== undefined && !options.trustPipelineUrl && normalBase(fromPipeline) !== normalBase(providerSpec(name).defaultBaseUrl)) {
    const shown = JSON.stringify(redactUrl(normalBase(fromPipeline)));
    throw new ConfigError(
      `the pipeline file names the base URL ${shown}, not ${providerSpec(name).label}'s public API; ftprep sends your files and API key only where you say: pass --trust-pipeline-url (or --base-url ${shown}) to use it`,
    );
  }
  const store = options.store ?? DEFAULT_STORE;
  const manifest = options.manifest;
  if (manifest && optionBase === undefined) {
    if (manifest.target.startsWith(EMBEDDED)) {
      const named = manifest.target.slice(EMBEDDED.length);
      if (resolve(named) !== resolve(store)) {
        throw new ConfigError(
          `the manifest's files are on the embedded server's store ${JSON.stringify(named)}, not on ${JSON.stringify(store)}; ftprep opens only the store you name: pass --store ${JSON.stringify(named)} to use it`,
        );
      }
      return { embedded: true, store, target: embeddedTarget(store) };
    }
    const configured = normalBase(base ?? (providerSpec(name).defaultBaseUrl));
    const recorded = normalBase(manifest.base_url);
    if (key !== undefined && recorded !== configured) {
      throw new ConfigError(
        `the manifest names the base URL ${JSON.stringify(redactUrl(recorded))}, not the configured ${JSON.stringify(redactUrl(configured))}; ftprep sends your API key only where you say: pass --base-url ${JSON.stringify(redactUrl(recorded))} to use it`,
      );
    }
    base = recorded;
  }
  if (key === undefined && base === undefined) return { embedded: true, store, target: embeddedTarget(store) };
  const baseUrl = normalBase(base ?? (providerSpec(name).defaultBaseUrl));
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError(`the base URL ${JSON.stringify(redactUrl(baseUrl))} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(`the base URL ${JSON.stringify(redactUrl(baseUrl))} is not an http(s) URL`);
  if (url.username !== "" || url.password !== "") {
    // Credentials in a URL end up in manifests, logs and process lists: refuse them rather than record them.
    registerSecret(decodeURIComponent(url.username));
    registerSecret(decodeURIComponent(url.password));
    throw new ConfigError(
      `the base URL ${JSON.stringify(redactUrl(baseUrl))} carries credentials (user:password@); ftprep neither sends nor records them: give the key with --api-key or ${providerSpec(name).envPrefix}_API_KEY and the URL without them`,
    );
  }
  return { embedded: false, baseUrl, key, target: baseUrl };
}

/** Opens the provider to talk to (starting the embedded server when that is the target). */
export async function openTarget(name: ProviderName, options: TargetOptions): Promise<Target> {
  const resolved = resolveTarget(name, options);
  const spec = providerSpec(name);
  const make = (baseUrl: string, apiKey: string | undefined): FilesProvider & JobsProvider =>
    createProviderClient(name, {
      baseUrl,
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(options.requestTimeoutMs !== undefined ? { timeoutMs: options.requestTimeoutMs } : {}),
      userAgent: `ftprep/${toolVersion()}`,
    });
  if (resolved.embedded) {
    // A token of this run only: other local users and processes cannot reach the store through the port.
    const token = randomBytes(24).toString("base64url");
    // Loaded only here: a run with a key or a base URL (every queue worker's unit) need not load the server.
    const { startServer } = await import("../server/server.js");
    const server = await startServer({ store: resolved.store, port: 0, token });
    const baseUrl = `${server.url}${spec.apiPath}`;
    options.onNotice?.(`no ${spec.envPrefix}_API_KEY and no base URL: using the embedded local Files API at ${server.url} (store ${resolved.store})`);
    const provider = make(baseUrl, token);
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
