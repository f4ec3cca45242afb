import { connect } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

/**
 * A PUT to one of Together's pre-signed URLs — the single upload's and a multipart upload's part, one check for
 * both (`providers/signed-put.ts`): the signature and its time (403 `signature_mismatch` / `expired`), then a
 * Content-Length that is there (411) and within one PUT (413). (A body cut short of its Content-Length is
 * refused by Node's HTTP parser before the handler sees it.)
 */

const tmp = useTempDir("signed-put");
const serve = useServers();

/** One raw HTTP/1.1 request: the headers as given (no Content-Length added), then the body. */
function rawPut(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; json: { error?: { message: string; code: string | null } } }> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const head = Object.entries({ host: `${hostname}:${port}`, connection: "close", ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
      socket.write(`PUT ${pathname}${search} HTTP/1.1\r\n${head}\r\n${body}`);
    });
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString("utf8")));
    socket.on("error", reject);
    socket.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
      const payload = text.slice(text.indexOf("\r\n\r\n") + 4);
      resolve({ status, json: payload.startsWith("{") ? JSON.parse(payload) : {} });
    });
  });
}

async function setup() {
  let clock = Date.now();
  const server = await serve({ store: join(tmp(), "store"), token: "k", limits: { presignedPutBytes: 100 }, now: () => clock });
  const auth = { authorization: "Bearer k" };
  const started = await fetch(`${server.url}/v1/files?file_name=a.jsonl&file_type=jsonl&purpose=fine-tune`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
    body: "",
    redirect: "manual",
  });
  expect(started.status).toBe(302);
  const single = started.headers.get("location")!;
  const initiated = await fetch(`${server.url}/v1/files/multipart/initiate`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ file_name: "b.jsonl", file_size: 150, num_parts: 2, purpose: "fine-tune", file_type: "jsonl" }),
  });
  const part = ((await initiated.json()) as { parts: { URL: string }[] }).parts[0]!.URL;
  return { single, part, later: (ms: number) => (clock += ms) };
}

const altered = (url: string) => url.replace(/signature=([0-9a-f])/, (_, c: string) => `signature=${c === "0" ? "1" : "0"}`);
const refusal = (status: number, code: string | null, message: string | RegExp) => ({ status, json: { error: expect.objectContaining({ code, message: typeof message === "string" ? message : expect.stringMatching(message) }) } });
const line = '{"text": "x"}\n';

describe("PUT to a pre-signed URL", () => {
  it("the single upload's: 403 altered, 411, 413, 200, 403 expired", async () => {
    const { single, later } = await setup();
    expect(await rawPut(altered(single), { "content-length": String(line.length) }, line)).toMatchObject(
      refusal(403, "signature_mismatch", "Access denied: the upload URL's signature does not match"),
    );
    expect(await rawPut(single, { "transfer-encoding": "chunked" }, `${line.length.toString(16)}\r\n${line}\r\n0\r\n\r\n`)).toMatchObject(refusal(411, null, "Content-Length required"));
    expect(await rawPut(single, { "content-length": "101" }, "")).toMatchObject(refusal(413, "file_too_large", "File too large: 101 bytes; one upload takes at most 100"));
    expect((await rawPut(single, { "content-length": String(line.length) }, line)).status).toBe(200);
    later(3601_000);
    expect(await rawPut(single, { "content-length": String(line.length) }, line)).toMatchObject(refusal(403, "expired", "Request has expired: ask for a new upload URL"));
  });

  it("a multipart upload's part: the same checks, in its own words", async () => {
    const { part, later } = await setup();
    expect(await rawPut(altered(part), { "content-length": String(line.length) }, line)).toMatchObject(
      refusal(403, "signature_mismatch", "Access denied: no such upload part, or the URL's signature does not match"),
    );
    expect(await rawPut(part.replace("part_number=1", "part_number=3"), { "content-length": String(line.length) }, line)).toMatchObject(
      refusal(403, "signature_mismatch", /^Access denied: no such upload part/),
    );
    expect(await rawPut(part, { "transfer-encoding": "chunked" }, `${line.length.toString(16)}\r\n${line}\r\n0\r\n\r\n`)).toMatchObject(refusal(411, null, "Content-Length required"));
    expect(await rawPut(part, { "content-length": "101" }, "")).toMatchObject(refusal(413, "file_too_large", "Part too large: 101 bytes"));
    expect((await rawPut(part, { "content-length": String(line.length) }, line)).status).toBe(200);
    later(3601_000);
    expect(await rawPut(part, { "content-length": String(line.length) }, line)).toMatchObject(refusal(403, "expired", "Request has expired: start the upload again"));
  });
});
