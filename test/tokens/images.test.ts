import { crc32, deflateSync } from "node:zlib";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundledCounter } from "../../src/tokens/counter.js";
import { dataUrlImageSize, imageHeaderSize } from "../../src/tokens/image-size.js";
import { encodeMistralRecord, imageTokenGrid, PIXTRAL_IMAGES, TEKKEN_SPECIALS } from "../../src/tokens/mistral-record.js";
import { loadTokenizer } from "../../src/tokens/vocabularies.js";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";

const tmp = useTempDir("tokens-images", "each");

/** A real PNG (grey, 8-bit RGB) of w × h pixels: signature, IHDR, one zlib IDAT, IEND. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.alloc(1 + width * 3, 128);
  row[0] = 0;
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** A JPEG's header: SOI, a 20 kB APP1 (as EXIF with a thumbnail would be), SOF0 with the size (no scan data). */
function jpegHeader(width: number, height: number): Buffer {
  const app1 = Buffer.alloc(4 + 20_000, 0x41);
  app1.set([0xff, 0xe1], 0);
  app1.writeUInt16BE(20_002, 2);
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0, 0, 0, 0, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app1, Buffer.from([0xff, 0xff]), sof]);
}

/** WebP headers: lossless (VP8L), lossy (VP8) and extended (VP8X). */
function webp(kind: "VP8L" | "VP8 " | "VP8X", width: number, height: number): Buffer {
  const b = Buffer.alloc(30);
  b.write("RIFF", 0, "latin1");
  b.writeUInt32LE(22, 4);
  b.write("WEBP", 8, "latin1");
  b.write(kind, 12, "latin1");
  if (kind === "VP8L") {
    b[20] = 0x2f;
    const bits = (width - 1) | ((height - 1) << 14);
    b.writeUInt32LE(bits >>> 0, 21);
  } else if (kind === "VP8 ") {
    b.set([0x9d, 0x01, 0x2a], 23);
    b.writeUInt16LE(width, 26);
    b.writeUInt16LE(height, 28);
  } else {
    b.writeUIntLE(width - 1, 24, 3);
    b.writeUIntLE(height - 1, 27, 3);
  }
  return b;
}

const dataUrl = (type: string, bytes: Buffer): string => `data:image/${type};base64,${bytes.toString("base64")}`;

describe("image chunks counted as mistral-common's ImageEncoder counts them (Pixtral 12B: patch 16, at most 1024 px)", () => {
  // Expected: len(ImageEncoder(MultimodalConfig(16, 1024), SpecialImageIDs(10, 12, 13))(ImageURLChunk(data URL of a
  // Pillow PNG of that size)).tokens) with mistral-common v1.5.4's source, run outside this repository.
  // 2048×1025 and 1025×2048 need Python's round (512.5 → 512).
  const EXPECTED: Record<string, number> = { "2048x1025": 2080, "1025x2048": 2112, "200x311": 280, "300x212": 280, "251x1374": 832, "1475x477": 1365, "1344x1544": 3648, "2133x3422": 2624, "16x16": 2, "17x1": 3, "1x1": 2, "1024x1024": 4160, "3000x1000": 1430, "2048x1536": 3120, "1025x1": 65, "640x480": 1230 };

  it("rows × (columns + 1) tokens for each image size", () => {
    for (const [size, tokens] of Object.entries(EXPECTED)) {
      const [w, h] = size.split("x").map(Number) as [number, number];
      const { columns, rows } = imageTokenGrid(w, h, PIXTRAL_IMAGES);
      expect(rows * (columns + 1), size).toBe(tokens);
    }
  });

  it("reads the size from PNG, JPEG (frame header after a large APP1), GIF and WebP headers in data URLs", () => {
    expect(dataUrlImageSize(dataUrl("png", png(200, 311)))).toEqual({ width: 200, height: 311 });
    expect(dataUrlImageSize(dataUrl("jpeg", jpegHeader(2048, 1025)))).toEqual({ width: 2048, height: 1025 });
    const gif = Buffer.from("GIF89a\x40\x01\xf0\x00\x00\x00\x00;", "latin1");
    expect(imageHeaderSize(gif)).toEqual({ width: 320, height: 240 });
    expect(dataUrlImageSize(dataUrl("webp", webp("VP8L", 16, 16)))).toEqual({ width: 16, height: 16 });
    expect(dataUrlImageSize(dataUrl("webp", webp("VP8 ", 640, 480)))).toEqual({ width: 640, height: 480 });
    expect(dataUrlImageSize(dataUrl("webp", webp("VP8X", 3000, 1000)))).toEqual({ width: 3000, height: 1000 });
    expect(dataUrlImageSize("https://example.com/cat.png")).toBeUndefined();
    expect(dataUrlImageSize("data:image/png;base64,bm90IGFuIGltYWdl")).toBeUndefined();
  });

  // Expected: mistral-finetune's tokenize.py `encode(record, InstructTokenizerV3(Tekkenizer(tekken_240718.json),
  // mm_encoder=ImageEncoder(MultimodalConfig(16, 1024), …)), SampleType.INSTRUCT)` over mistral-common v1.5.4 — what
  // MistralTokenizer.v3(is_tekken=True, is_mm=True) (tekken_240911.json, the same vocabulary) builds — with Pillow
  // images of the same sizes (the count depends on the size only), run outside this repository.
  it("whole records: text chunks, images as a string or {url}, the system prompt before a leading image", async () => {
    const tekken = { tokenizer: await loadTokenizer("tekken-240718"), specials: TEKKEN_SPECIALS, version: 3 as const, images: PIXTRAL_IMAGES };
    const one = { messages: [{ role: "user", content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: dataUrl("png", png(200, 311)) }] }, { role: "assistant", content: "A grey square." }] };
    const a = encodeMistralRecord(one, tekken);
    expect([a.ids.length, a.trainable, a.estimatedImages]).toEqual([294, 5, 0]);
    expect(a.ids.slice(0, 12)).toEqual([1, 3, 7493, 1395, 1294, 1593, 13083, 1063, 10, 10, 10, 10]);
    // 20 rows of 13 [IMG], each row ended by [IMG_BREAK] (12), the last by [IMG_END] (13).
    expect(a.ids.filter((id) => id === 10)).toHaveLength(260);
    expect(a.ids.filter((id) => id === 12)).toHaveLength(19);
    expect(a.ids.filter((id) => id === 13)).toHaveLength(1);
    const two = {
      system_prompt: "Describe images.",
      messages: [
        { role: "user", content: [{ type: "image_url", image_url: { url: dataUrl("jpeg", jpegHeader(2048, 1025)) } }, { type: "text", text: "and" }, { type: "image_url", image_url: dataUrl("webp", webp("VP8L", 16, 16)) }] },
        { role: "assistant", content: "Two grey images." },
      ],
    };
    const b = encodeMistralRecord(two, tekken);
    expect([b.ids.length, b.trainable]).toEqual([2095, 5]);
    expect(b.ids.slice(0, 7)).toEqual([1, 3, 5847, 13089, 8061, 1338, 10]);
    // Counting only gives the same numbers.
    expect(encodeMistralRecord(two, tekken, undefined, true)).toMatchObject({ tokens: 2095, trainable: 5 });
  });

  it("an image given by URL (size not in the data) is counted at the largest size and the record is labelled an estimate", async () => {
    const record = { messages: [{ role: "user", content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: "https://example.com/cat.png" }] }, { role: "assistant", content: "A grey square." }] };
    const counter = await bundledCounter("tekken-240718");
    // 294 − 280 (the 200×311 image) + 4160 (1024×1024).
    expect(counter.count(record, "mistral-chat")).toEqual({ tokens: 294 - 280 + 4160, trainable: 5, estimated: true });
    const file = join(tmp(), "images.jsonl");
    const known = { ...record, messages: [{ ...record.messages[0]!, content: [record.messages[0]!.content[0]!, { type: "image_url", image_url: dataUrl("png", png(200, 311)) }] }, record.messages[1]!] };
    await writeFile(file, `${JSON.stringify(known)}\n${JSON.stringify(record)}\n`);
    const tokens = await runCli("tokens", "--model", "open-mistral-nemo", file);
    expect(tokens.code, tokens.stderr).toBe(0);
    const lines = tokens.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ line: 1, tokens: 294, method: "exact" });
    expect(lines[1]).toMatchObject({ line: 2, tokens: 4174, method: "estimate" });
    expect(lines[2]).toMatchObject({ records: 2, tokens: 294 + 4174, estimated_records: 1 });
    const validate = await runCli("validate", "--model", "open-mistral-nemo", file);
    expect(validate.stdout).toContain("1 record(s) with an image of unknown size (a URL): counted at the largest image size (est.)");
  });

  it("SentencePiece vocabularies have no image encoder: image chunks add nothing", async () => {
    const counter = await bundledCounter("mistral-sp-v3");
    const text = { messages: [{ role: "user", content: [{ type: "text", text: "What is in this picture?" }] }, { role: "assistant", content: "A grey square." }] };
    const withImage = { messages: [{ role: "user", content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: "https://example.com/cat.png" }] }, { role: "assistant", content: "A grey square." }] };
    expect(counter.count(withImage, "mistral-chat")).toEqual(counter.count(text, "mistral-chat"));
  });
});
