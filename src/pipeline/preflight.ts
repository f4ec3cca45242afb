import { FtprepError } from "../errors.js";
import { ApiError, AuthenticationError, ConnectionError, NotFoundError, PermissionDeniedError, TimeoutError } from "../providers/errors.js";
import type { ProviderName } from "../providers/types.js";
import { providerSpec } from "../target/registry.js";
import { openTarget, resolveTarget, type TargetOptions } from "./target.js";

/**
 * The pre-flight check of a run's target, made before any dataset file is read. A malformed or non-HTTP base URL
 * is a usage error at once (`resolveTarget`); then one listing request, sent once with no retry, turns a server
 * that refuses connections, a refused key or a doubled `/v1` into one line within seconds — instead of the
 * upload's retries, repeated per file, after validating gigabytes. Transient answers (429, 5xx) pass: the upload's
 * retry policy deals with them as before.
 */

/** How long the probe waits for an answer. */
const PROBE_TIMEOUT_MS = 15_000;
/** A name no upload uses: the probe asks the provider for it and expects nothing. */
const PROBE_NAME = "ftprep-preflight.jsonl";

export interface PreflightOptions extends TargetOptions {
  signal?: AbortSignal;
  /** Only check the URL, send nothing (a dry run). */
  offline?: boolean;
  timeoutMs?: number;
}

/** Checks that the target of a run can take files; throws an error with a one-line message when it cannot. */
export async function checkTarget(name: ProviderName, options: PreflightOptions): Promise<void> {
  const resolved = resolveTarget(name, options);
  if (resolved.embedded || options.offline) return;
  const target = await openTarget(name, options);
  const ms = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(ms);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    await target.provider.findExisting(PROBE_NAME, 0, signal);
  } catch (error) {
    if (timeout.aborted && !options.signal?.aborted) {
      throw new FtprepError("ERR_TIMEOUT", `no answer from ${shown(resolved.baseUrl)} within ${Math.round(ms / 1000)} s — is it the right address?`, { cause: error });
    }
    const problem = describe(name, resolved.baseUrl, resolved.key !== undefined, error);
    if (problem) throw problem;
  } finally {
    await target.close();
  }
}

/** The base URL as printed: no credentials, no query. */
function shown(baseUrl: string): string {
  const url = new URL(baseUrl);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

function describe(name: ProviderName, baseUrl: string, hasKey: boolean, error: unknown): FtprepError | undefined {
  const where = shown(baseUrl);
  const variable = `${name.toUpperCase()}_API_KEY`;
  if (error instanceof ConnectionError) {
    const code = (error.cause as { code?: string } | undefined)?.code;
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
      return new FtprepError("ERR_CONNECTION", `cannot connect to ${where}: its host name does not resolve (${code})`, { cause: error });
    }
    return new FtprepError("ERR_CONNECTION", `cannot connect to ${where} — is the server running?${code ? ` (${code})` : ""}`, { cause: error });
  }
  if (error instanceof TimeoutError) {
    return new FtprepError(error.code, `no answer from ${where} — is it the right address? (${error.message})`, { cause: error });
  }
  if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
    const what = hasKey ? `refused the API key (${error.status} ${error.serverMessage}): check ${variable} or --api-key` : `needs an API key (${error.status} ${error.serverMessage}): set ${variable} or give --api-key`;
    return new FtprepError(error.code, `${where} ${what}`, { cause: error });
  }
  if (error instanceof NotFoundError) {
    const path = new URL(baseUrl).pathname.replace(/\/+$/, "");
    const origin = new URL(baseUrl).origin;
    // Mistral's routes carry /v1 themselves; OpenAI's and Together's base URLs end in /v1 and their routes do not.
    let hint = "is it the API's base URL?";
    const label = providerSpec(name).label;
    if (name === "mistral" && path.endsWith("/v1")) hint = `the URL ends in /v1 and ftprep adds /v1 for Mistral: use --base-url ${origin}${path.slice(0, -3)}`;
    else if (name !== "mistral" && path.endsWith("/v1/v1")) hint = `/v1 is doubled: use --base-url ${origin}${path.slice(0, -3)}`;
    else if (name !== "mistral" && !path.endsWith("/v1")) hint = `${label === "OpenAI" ? "OpenAI-compatible" : label} base URLs end in /v1: try --base-url ${origin}${path}/v1`;
    return new FtprepError(error.code, `no Files API at ${where} (404 on ${error.method} ${error.url}): ${hint}`, { cause: error });
  }
  if (error instanceof ApiError) return undefined; // transient or request-specific: the upload reports it
  if (error instanceof FtprepError) return error;
  return undefined;
}
