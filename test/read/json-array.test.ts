import { describe, expect, it } from "vitest";
import { type JsonArrayElement, readJsonArray, readJsonArrayElements } from "../../src/read/json-array.js";
import { chunked, collect } from "../helpers/sources.js";

const read = (s: string, size = 3) => collect(readJsonArray(chunked(Buffer.from(s, "utf8"), size)));

describe("readJsonArray", () => {
  it("streams the elements of a top-level array with their indexes", async () => {
    expect(await read('[{"a":1}, {"b":[2,3]}, 4]')).toEqual([
      { kind: "record", index: 0, value: { a: 1 } },
      { kind: "record", index: 1, value: { b: [2, 3] } },
      { kind: "record", index: 2, value: 4 },
    ]);
  });

  it("turns a top-level object into an error item, not an exception", async () => {
    const items = await read('{"a":1}');
    expect(items).toHaveLength(1);
    expect(items[0]!.kind).toBe("error");
  });

  it("ends with an error item after the good elements of a truncated array", async () => {
    const items = await read('[{"a":1},{"b":');
    expect(items[0]).toEqual({ kind: "record", index: 0, value: { a: 1 } });
    expect(items.at(-1)!.kind).toBe("error");
  });

  it("rethrows a failure of the source itself", async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from("[1,");
      throw new Error("disk gone");
    }
    await expect(collect(readJsonArray(failing()))).rejects.toThrow("disk gone");
  });
});

const elements = async (s: string | Buffer, size = 3, maxElementBytes?: number) =>
  collect(readJsonArrayElementsFlat(typeof s === "string" ? Buffer.from(s, "utf8") : s, size, maxElementBytes));
async function* readJsonArrayElementsFlat(bytes: Buffer, size: number, maxElementBytes?: number) {
  for await (const batch of readJsonArrayElements(chunked(bytes, size), maxElementBytes === undefined ? {} : { maxElementBytes })) yield* batch;
}
const texts = (items: JsonArrayElement[]) => items.map((i) => (i.kind === "element" ? Buffer.from(i.line.bytes).toString("utf8") : `error: ${i.message}`));

describe("readJsonArrayElements", () => {
  it("keeps every element's source text: numbers beyond doubles, -0, 1.0, escapes, key order, duplicate keys", async () => {
    const source = '[{"n":1e400,"big":12345678901234567890123,"z":-0,"f":1.0,"s":"caf\\u00e9 \\"q\\" ,]"}, {"b":1,"a":2,"a":3}]';
    for (const size of [1, 2, 7, 4096]) {
      expect(texts(await elements(source, size))).toEqual(['{"n":1e400,"big":12345678901234567890123,"z":-0,"f":1.0,"s":"caf\\u00e9 \\"q\\" ,]"}', '{"b":1,"a":2,"a":3}']);
    }
  });

  it("drops whitespace outside strings (a pretty-printed element becomes one line) but never joins two tokens", async () => {
    const source = Buffer.from('\ufeff[\n  {\n    "a" : [ 1 , 2 ],\n    "s": "x  y\\n"\n  },\n  [1 2], true , "t"\r\n]\n');
    const items = await elements(source);
    expect(texts(items)).toEqual(['{"a":[1,2],"s":"x  y\\n"}', "[1 2]", "true", '"t"']);
    const starts = ["{", "[1 2]", "true", '"t"'].map((token) => source.indexOf(token));
    expect(items.map((i) => (i.kind === "element" ? [i.line.number, i.line.offset] : []))).toEqual(starts.map((at, k) => [k + 1, at]));
  });

  it("passes invalid UTF-8 through untouched, for the validator's E_UTF8", async () => {
    const bytes = Buffer.concat([Buffer.from('[{"a":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}]')]);
    const [item] = await elements(bytes, 1);
    expect(item?.kind === "element" && [...item.line.bytes]).toEqual([...Buffer.from('{"a":"'), 0xff, 0xc3, ...Buffer.from('"}')]);
  });

  it("ends with an error item at a break in the array itself, after every element before it", async () => {
    expect(texts(await elements("[1,,2]"))).toEqual(["1", "error: an empty element in the array at byte 4"]);
    expect(texts(await elements("[1,]"))).toEqual(["1", "error: an empty element in the array at byte 4"]);
    expect(texts(await elements("[1] x"))).toEqual(["1", "error: unexpected 'x' after the array at byte 5"]);
    expect(texts(await elements('[{"a":[1}, 2'))).toEqual(["error: the array is not closed (unexpected end of file)"]);
    expect(texts(await elements('{"a":1}'))).toEqual(["error: the top-level value is not an array: '{' at byte 1"]);
    expect(texts(await elements(""))).toEqual(["error: the file holds no JSON array"]);
    expect(texts(await elements(" [ ] "))).toEqual([]);
  });

  it("counts an element longer than the maximum without keeping it", async () => {
    const items = await elements(`[${JSON.stringify("x".repeat(100))},"short"]`, 7, 50);
    expect(items.map((i) => i.kind === "element" && [i.line.tooLong, i.line.length, i.line.bytes.length])).toEqual([
      [true, 102, 0],
      [false, 7, 7],
    ]);
  });
});
