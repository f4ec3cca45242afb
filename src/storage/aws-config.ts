import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { registerSecret } from "../redact.js";

/**
 * Where object storage is and who ftprep is there, resolved the way the AWS CLI and SDKs do, from the usual places:
 * `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, else the profile `AWS_PROFILE` (default
 * `default`) of `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`) and `~/.aws/config` (`AWS_CONFIG_FILE`); the
 * region from `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile; an S3-compatible endpoint from `--s3-endpoint`,
 * `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`. Secrets are registered for redaction as they are read.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Everything an S3 client needs. */
export interface S3Config {
  credentials: AwsCredentials;
  region: string;
  /** An S3-compatible endpoint (path-style addressing), or undefined for AWS (virtual-hosted addressing). */
  endpoint: string | undefined;
}

/** What may override the environment (the command line, a caller). */
export interface S3ConfigInput {
  endpoint?: string | undefined;
  region?: string | undefined;
  profile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** INI sections of an AWS shared file: `[name]` (credentials) or `[profile name]` (config). */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq === -1 || current === undefined) continue;
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}

function readIni(path: string): Map<string, Map<string, string>> | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  return parseIni(text);
}

/** The endpoint as a base URL: http(s), no credentials, no query. */
export function checkEndpoint(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${from} is not a URL: ${value}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(`${from} must be an http:// or https:// URL, got ${url.protocol}`);
  if (url.username !== "" || url.password !== "") throw new ConfigError(`${from} may not hold credentials (user:password@); use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile`);
  if (url.search !== "" || url.hash !== "") throw new ConfigError(`${from} may not have a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** Resolves credentials, region and endpoint; a usage error (exit 2) saying where to put them when there are none. */
export function resolveS3Config(input: S3ConfigInput = {}): S3Config {
  const env = input.env ?? process.env;
  const profile = input.profile ?? env.AWS_PROFILE ?? "default";
  const home = env.HOME ?? homedir();
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials");
  const configFile = env.AWS_CONFIG_FILE ?? join(home, ".aws", "config");
  const config = readIni(configFile);
  const profileConfig = config?.get(profile === "default" ? "default" : `profile ${profile}`) ?? config?.get(profile);

  let credentials: AwsCredentials | undefined;
  // A profile named explicitly wins over keys in the environment, as in the AWS CLI.
  const fromEnv = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && input.profile === undefined;
  if (fromEnv) {
    credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY!, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  } else {
    const section = readIni(credentialsFile)?.get(profile) ?? profileConfig;
    const id = section?.get("aws_access_key_id");
    const secret = section?.get("aws_secret_access_key");
    const token = section?.get("aws_session_token");
    if (id && secret) credentials = { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
  }
  if (credentials === undefined) {
    const named = input.profile !== undefined || env.AWS_PROFILE !== undefined;
    throw new ConfigError(
      named
        ? `no AWS credentials for the profile "${profile}" in ${credentialsFile} or ${configFile} (aws_access_key_id, aws_secret_access_key)`
        : `no AWS credentials for s3:// locations: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ${credentialsFile}`,
    );
  }
  registerSecret(credentials.secretAccessKey);
  registerSecret(credentials.sessionToken);

  const region = input.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? profileConfig?.get("region") ?? "us-east-1";
  if (!/^[a-z0-9-]{1,40}$/.test(region)) throw new ConfigError(`not an AWS region: ${region}`);
  const given: [string | undefined, string][] = [
    [input.endpoint, "--s3-endpoint"],
    [env.AWS_ENDPOINT_URL_S3, "AWS_ENDPOINT_URL_S3"],
    [env.AWS_ENDPOINT_URL, "AWS_ENDPOINT_URL"],
    [profileConfig?.get("endpoint_url"), `the profile "${profile}"'s endpoint_url`],
  ];
  const found = given.find(([value]) => value !== undefined && value !== "");
  const endpoint = found ? checkEndpoint(found[0]!, found[1]) : undefined;
  return { credentials, region, endpoint };
}
