import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { run } from "../../src/pipeline/run.js";
import { runCli } from "../helpers/cli.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const tmp = useTempDir("edges");
const serve = useServers();

const BOUNDARY = "ftprep-edge-boundary";
const head = (name: string, filename: string) =>
  Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="${name}"; filename="${filename}"\r\ncontent-type: application/octet-stream\r\n\r\n`);
const purpose = Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n`);

interface Sent {
  response: IncomingMessage;
  /** Body bytes written before the answer arrived. */
  written: number;
}

/**
 * POSTs a multipart upload whose body is `parts` and then `filler` repeated until the server answers (at most
 * `maxFiller` times): what a client streaming an endless body sees. With `contentLength`, that header is sent.
 */
function post(url: string, parts: Buffer[], filler: Buffer, maxFiller: number, contentLength?: number): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-type": `multipart/form-data; boundary=${BOUNDARY}` };
    if (contentLength !== undefined) headers["content-length"] = contentLength;
    const req = request(`${url}/v1/files`, { method: "POST", headers });
    let written = 0;
    let answered = false;
    req.on("response", (response) => {
      answered = true;
      response.resume();
      resolve({ response, written });
      req.destroy();
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    for (const part of parts) {
      req.write(part);
      written += part.length;
    }
    let sent = 0;
    const pump = (): void => {
      while (!answered && sent < maxFiller) {
        sent++;
        written += filler.length;
        if (!req.write(filler)) {
          req.once("drain", pump);
          return;
        }
      }
      if (!answered && sent >= maxFiller && contentLength === undefined) req.end(`\r\n--${BOUNDARY}--\r\n`);
    };
    if (filler.length > 0) pump();
  });
}

describe("server edges", () => {
  it("answers 400, not 500, to a malformed % escape in the path", async () => {
    const server = await serve({ store: tmp() });
    for (const path of ["/v1/files/%zz", "/v1/files/%", "/v1/files/%E0%A4%A", "/v1/files/abc%ff/content"]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/malformed percent-encoding/);
    }
  });

  it("refuses an upload whose Content-Length is over the limit before reading its body", async () => {
    const store = tmp();
    const server = await serve({ store, limits: { fileBytes: 10_000 } });
    // The header announces 5 MB; no byte of the body is ever sent: the answer must come anyway.
    const { response, written } = await post(server.url, [purpose, head("file", "big.jsonl")], Buffer.alloc(0), 0, 5_000_000);
    expect(response.statusCode).toBe(413);
    expect(written).toBeLessThan(1000);
    expect(await readdir(join(store, "tmp"))).toEqual([]);
    expect(await readdir(join(store, "files"))).toEqual([]);
  });

  it("caps a chunked body without Content-Length, even when its file part is small", async () => {
    const store = tmp();
    const server = await serve({ store, limits: { fileBytes: 10_000 } });
    const small = Buffer.concat([purpose, head("file", "train.jsonl"), Buffer.from(chatLines(2)), Buffer.from("\r\n"), head("other", "filler.bin")]);
    // An endless second part: ignored by the server, so on its own it never reaches the file limit.
    const { response, written } = await post(server.url, [small], Buffer.alloc(64 * 1024, 0x61), 256);
    expect(response.statusCode).toBe(413);
    expect(written).toBeLessThan(16 * 1024 * 1024);
    expect(await readdir(join(store, "files"))).toEqual([]);
  });
});

describe("--request-timeout", () => {
  let silent: Server | undefined;
  afterEach(async () => {
    silent?.closeAllConnections();
    await new Promise((resolve) => silent?.close(resolve) ?? resolve(undefined));
    silent = undefined;
  });
  /** A server that accepts requests and never answers them. */
  async function silentServer(): Promise<string> {
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  }

  it("ends a request the server never answers with ERR_TIMEOUT: jobs, and upload through the library", async () => {
    const url = await silentServer();
    const { code, stderr } = await runCli("jobs", "status", "ftjob-x", "--base-url", url, "--api-key", "k", "--request-timeout", "300ms");
    expect(code).toBe(3);
    expect(stderr).toMatch(/no answer within 300 ms/);
    const path = join(tmp(), "train.jsonl");
    await writeFile(path, chatLines(3));
    // The run's pre-flight check of the target is the first request: it ends with ERR_TIMEOUT before any upload.
    const failed = run([path], { baseUrl: url, apiKey: "k", requestTimeoutMs: 200, retry: { maxAttempts: 1 }, manifestPath: join(tmp(), "m.json"), outDir: join(tmp(), "out") });
    await expect(failed).rejects.toMatchObject({ code: "ERR_TIMEOUT", message: expect.stringMatching(/^no answer from http:\/\/127\.0\.0\.1:\d+ — is it the right address\? \(no answer within 200 ms/) });
  });

  it("is offered by upload, run and the jobs commands", async () => {
    for (const command of [["upload"], ["run"], ["jobs", "status"], ["jobs", "wait"], ["jobs", "create"], ["jobs", "cancel"]]) {
      const { stdout } = await runCli(...command, "--help");
      expect(stdout, command.join(" ")).toContain("--request-timeout <duration>");
    }
  });
});
