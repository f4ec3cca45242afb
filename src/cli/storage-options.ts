import { type Command, Option } from "commander";
import { ConfigError } from "../errors.js";
import { checkEndpoint } from "../storage/aws-config.js";
import { configureObjectStorage } from "../storage/object-storage.js";

/** The environment `s3://` locations read, for `--help`. */
export const S3_ENV = [
  "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN  credentials for s3:// paths (else AWS_PROFILE in ~/.aws/credentials)",
  "AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL    the profile, the region and an S3-compatible endpoint (--s3-endpoint wins)",
];

/** `--s3-endpoint`: every command that takes a dataset path, an output directory or a plan takes it. */
export function addStorageOptions(command: Command): Command {
  return command.addOption(new Option("--s3-endpoint <url>", "an S3-compatible endpoint for s3:// paths (path-style; default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS S3 of AWS_REGION)"));
}

/** Configures object storage from a command's parsed flags, before its action runs (a bad URL is a usage error at once). */
export function applyStorageFlags(flags: Record<string, unknown>): void {
  // Dataset paths and --out may be s3:// locations; files ftprep rewrites in place or appends to stay local.
  for (const [flag, name] of [["manifest", "--manifest"], ["report", "--report"], ["writeValid", "--write-valid"], ["store", "--store"]] as const) {
    const value = flags[flag];
    if (typeof value === "string" && value.startsWith("s3://")) throw new ConfigError(`${name} must be a local path, not ${value} (dataset paths and --out may be s3:// locations)`);
  }
  const endpoint = typeof flags.s3Endpoint === "string" ? checkEndpoint(flags.s3Endpoint, "--s3-endpoint") : undefined;
  configureObjectStorage(endpoint !== undefined ? { endpoint } : {});
}
