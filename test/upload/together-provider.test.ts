import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ApiError, NotFoundError, ProviderAnswerError } from "../../src/providers/errors.js";
import { TogetherProvider } from "../../src/providers/together.js";
import type { RequestLogEntry } from "../../src/server/server.js";
import { chatLines } from "../helpers/records.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

// ftprep's Together client against the local server: the redirect-and-PUT upload streamed from disk, found again
// by name and size, an expired pre-signed URL answered by asking for a new one, answers checked.

const tmp = useTempDir("together-provider");
const serve = useServers();
const TOKEN = "k";

async function setup(options: { urlSeconds?: number; onRequest?: (entry: RequestLogEntry, server: { clock: number }) => void } = {}) {
  const state = { clock: Date.parse("2026-12-01T12:00:00Z") };
  const log: RequestLogEntry[] = [];
  const server = await serve({
    store: join(tmp(), "store"),
    token: TOKEN,
    now: () => state.clock,
    ...(options.urlSeconds !== undefined ? { limits: { presignedUrlSeconds: options.urlSeconds } } : {}),
    onRequest: (entry) => {
      log.push(entry);
      options.onRequest?.(entry, state);
    },
  });
  const provider = new TogetherProvider({ baseUrl: `${server.url}/v1`, apiKey: TOKEN });
  const path = join(tmp(), "train.jsonl");
  const text = chatLines(50);
  await writeFile(path, text);
  return { server, provider, path, bytes: Buffer.byteLength(text), text, log, state };
}

const routes = (log: RequestLogEntry[]) => log.map((e) => `${e.method} ${e.path.replace(/\?.*/, "").replace(/file-[0-9a-f-]+/, "{id}")} ${e.status}`);

describe("TogetherProvider (Files)", () => {
  it("uploads with a POST answered 302 and a PUT of exactly the file's bytes; finds it again by name and size; deletes it", async () => {
    const { server, provider, path, bytes, text, log } = await setup();
    let counted = 0;
    const file = await provider.upload({ path, filename: "train.jsonl", bytes, onBytes: (n) => (counted += n) });
    expect(file).toMatchObject({ filename: "train.jsonl", bytes, purpose: "fine-tune" });
    expect(file.id).toMatch(/^file-/);
    expect(counted).toBe(bytes);
    expect(routes(log)).toEqual(["POST /v1/files 302", "PUT /v1/files/{id}/upload 200", "GET /v1/files/{id} 200"]);
    // The PUT declared its length (not chunked), and the stored bytes are the file's.
    expect(log[1]!.bytes_in).toBe(bytes);
    const stored = await readFile(join(server.store, "files", `${file.id}.data`));
    expect(createHash("sha256").update(stored).digest("hex")).toBe(createHash("sha256").update(text).digest("hex"));

    expect(await provider.findExisting("train.jsonl", bytes)).toEqual(file);
    expect(await provider.findExisting("train.jsonl", bytes + 1)).toBeUndefined();
    expect(await provider.findExisting("other.jsonl", bytes)).toBeUndefined();
    expect(await provider.get(file.id)).toEqual(file);

    await provider.delete(file.id);
    expect(await provider.findExisting("train.jsonl", bytes)).toBeUndefined();
    await expect(provider.get(file.id)).rejects.toBeInstanceOf(NotFoundError);
    await provider.close();
  });

  it("asks for a new pre-signed URL when the one given has expired, and never re-uses it", async () => {
    let posts = 0;
    const { provider, path, bytes, log } = await setup({
      // The first URL expires before its PUT arrives: the clock jumps two hours once the first 302 is sent.
      onRequest: (entry, state) => {
        if (entry.method === "POST" && entry.status === 302 && ++posts === 1) state.clock += 2 * 3600 * 1000;
      },
    });
    const file = await provider.upload({ path, filename: "train.jsonl", bytes });
    expect(routes(log)).toEqual([
      "POST /v1/files 302",
      "PUT /v1/files/{id}/upload 403",
      "POST /v1/files 302",
      "PUT /v1/files/{id}/upload 200",
      "GET /v1/files/{id} 200",
    ]);
    const puts = log.filter((e) => e.method === "PUT");
    expect(puts[0]!.path).not.toBe(puts[1]!.path);
    expect(file.bytes).toBe(bytes);
    await provider.close();
  });

  it("gives up after a bounded number of fresh URLs when every one is refused, and stores nothing", async () => {
    const { server, provider, path, bytes, log } = await setup({ urlSeconds: -1 });
    const error = await provider.upload({ path, filename: "train.jsonl", bytes }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    // The message names the URL without its signature.
    expect((error as Error).message).not.toMatch(/signature=/);
    expect(log.filter((e) => e.method === "POST")).toHaveLength(3);
    expect(log.filter((e) => e.method === "PUT")).toHaveLength(3);
    const list = (await (await fetch(`${server.url}/v1/files`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    await provider.close();
  });

  it.each(["bytes", "filename", "purpose", "empty"] as const)("refuses an upload answered with a file object that lies (%s)", async (lie) => {
    const { server, provider, path, bytes } = await setup();
    server.faults.lie = lie;
    server.faults.lieCount = 1;
    await expect(provider.upload({ path, filename: "train.jsonl", bytes })).rejects.toBeInstanceOf(ProviderAnswerError);
    // The lie was the upload's answer only: the next look-up reads the file as stored.
    expect(await provider.findExisting("train.jsonl", bytes)).toMatchObject({ filename: "train.jsonl", bytes, purpose: "fine-tune" });
    await provider.close();
  });

  it("refuses a POST answer that is not the redirect to an upload URL", async () => {
    const { server, path, bytes, log } = await setup();
    // Mistral's and OpenAI's paths have no `/files` below `/v1/files/x`: the POST gets a 404, a typed error, and no PUT follows.
    const wrong = new TogetherProvider({ baseUrl: `${server.url}/v1/files/x`, apiKey: TOKEN });
    await expect(wrong.upload({ path, filename: "train.jsonl", bytes })).rejects.toBeInstanceOf(NotFoundError);
    await wrong.close();
    expect(routes(log)).toEqual(["POST /v1/files/x/files 404"]);
  });
});
