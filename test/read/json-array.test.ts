import { describe, expect, it } from "vitest";
import { readJsonArray } from "../../src/read/json-array.js";
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
