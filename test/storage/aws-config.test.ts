import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseIni, resolveS3Config } from "../../src/storage/aws-config.js";
import { dirnameLocation, joinLocation, parseObjectUrl } from "../../src/storage/s3-url.js";

async function home(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ftprep-aws-"));
  await mkdir(join(dir, ".aws"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, ".aws", name), text);
  return dir;
}

describe("AWS configuration, resolved as the AWS CLI does", () => {
  it("takes keys from the environment first, with the session token", () => {
    const config = resolveS3Config({ env: { AWS_ACCESS_KEY_ID: "AKIA1", AWS_SECRET_ACCESS_KEY: "secret-1", AWS_SESSION_TOKEN: "token-1", AWS_REGION: "eu-west-3", HOME: "/nonexistent" } });
    expect(config).toEqual({ credentials: { accessKeyId: "AKIA1", secretAccessKey: "secret-1", sessionToken: "token-1" }, region: "eu-west-3", endpoint: undefined });
  });

  it("reads the AWS_PROFILE profile from ~/.aws/credentials and its region and endpoint from ~/.aws/config", async () => {
    const dir = await home({
      credentials: "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = def-secret\n\n[team]\naws_access_key_id=AKIATEAM\naws_secret_access_key=team-secret\n",
      config: "[default]\nregion = us-west-2\n[profile team]\nregion = eu-central-1\nendpoint_url = http://127.0.0.1:9000/\n",
    });
    expect(resolveS3Config({ env: { HOME: dir } })).toMatchObject({ credentials: { accessKeyId: "AKIADEF" }, region: "us-west-2", endpoint: undefined });
    expect(resolveS3Config({ env: { HOME: dir, AWS_PROFILE: "team" } })).toEqual({
      credentials: { accessKeyId: "AKIATEAM", secretAccessKey: "team-secret" },
      region: "eu-central-1",
      endpoint: "http://127.0.0.1:9000",
    });
  });

  it("takes the endpoint from --s3-endpoint, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL", () => {
    const env = { AWS_ACCESS_KEY_ID: "AKIA1", AWS_SECRET_ACCESS_KEY: "secret-1", AWS_ENDPOINT_URL: "http://127.0.0.1:1", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:2", HOME: "/nonexistent" };
    expect(resolveS3Config({ env }).endpoint).toBe("http://127.0.0.1:2");
    expect(resolveS3Config({ env, endpoint: "http://127.0.0.1:3" }).endpoint).toBe("http://127.0.0.1:3");
    expect(resolveS3Config({ env: { ...env, AWS_ENDPOINT_URL_S3: undefined } }).endpoint).toBe("http://127.0.0.1:1");
  });

  it("refuses missing credentials and bad endpoints with one line that says where to put them", () => {
    expect(() => resolveS3Config({ env: { HOME: "/nonexistent" } })).toThrow(/no AWS credentials for s3:\/\/ locations: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/);
    expect(() => resolveS3Config({ env: { HOME: "/nonexistent", AWS_PROFILE: "gone" } })).toThrow(/no AWS credentials for the profile "gone"/);
    const env = { AWS_ACCESS_KEY_ID: "AKIA1", AWS_SECRET_ACCESS_KEY: "secret-1", HOME: "/nonexistent" };
    expect(() => resolveS3Config({ env, endpoint: "ftp://x" })).toThrow(/--s3-endpoint must be an http/);
    expect(() => resolveS3Config({ env, endpoint: "http://user:pw@127.0.0.1:9000" })).toThrow(/may not hold credentials/);
  });

  it("parses INI sections with comments and spaces", () => {
    const ini = parseIni("# c\n[ a ]\nk = v = w\n; c\n[profile b]\nx=1\n");
    expect(ini.get("a")?.get("k")).toBe("v = w");
    expect(ini.get("profile b")?.get("x")).toBe("1");
  });
});

describe("s3:// locations", () => {
  it("parses bucket and key, and refuses invalid bucket names", () => {
    expect(parseObjectUrl("s3://data/a/b.jsonl")).toEqual({ bucket: "data", key: "a/b.jsonl" });
    expect(parseObjectUrl("s3://data")).toEqual({ bucket: "data", key: "" });
    expect(() => parseObjectUrl("s3://Bad_Bucket/x")).toThrow(/not a valid S3 bucket name/);
  });

  it("joins and takes the directory of locations without losing the scheme (path.join would give s3:/)", () => {
    expect(joinLocation("s3://data/out/", "sub", "train")).toBe("s3://data/out/sub/train");
    expect(joinLocation("s3://data", ".", "train")).toBe("s3://data/train");
    expect(dirnameLocation("s3://data/out/train")).toBe("s3://data/out");
    expect(dirnameLocation("s3://data/train")).toBe("s3://data/");
    expect(joinLocation("out", "a")).toBe(join("out", "a"));
  });
});
