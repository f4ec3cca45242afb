import { describe, expect, it } from "vitest";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FORMATS, type FormatId } from "../../src/types.js";
import { fixtureValues } from "../helpers/fixture-values.js";
import { createSchemaRegistry, precompiledPath, precompiledSource, RECORD_SCHEMA_FILES } from "../../src/validate/schema-registry.js";

  /** Tool `parameters` found in the values, and a few schemas the meta-schema refuses. */
  function toolSchemas(values: unknown[]): unknown[] {
    const found: unknown[] = [{ type: 5 }, { properties: [] }, { required: "city" }, { type: "object", properties: { a: { enum: "x" } } }, { minLength: -1 }];
    for (const value of values) {
      const tools = (value as { tools?: unknown })?.tools;
      if (!Array.isArray(tools)) continue;
      for (const tool of tools) {
        const parameters = (tool as { function?: { parameters?: unknown } })?.function?.parameters;
        if (parameters !== undefined) found.push(parameters);
      }
    }
    return found;
  }

  describe("precompiled schema validators", () => {
    it("are what the build generates from the schemas as they are now", async () => {
      expect(await readFile(precompiledPath(), "utf8")).toBe(precompiledSource());
    });

    it("give the same verdict and errors as ajv compiled at run time, for every format on every fixture record", () => {
      const values = fixtureValues();
      expect(values.length).toBeGreaterThan(200);
      const runtime = createSchemaRegistry({ precompiled: false });
      const built = createSchemaRegistry();
      let failures = 0;
      for (const format of FORMATS as readonly FormatId[]) {
        expect(built.origin!(format)).toBe("precompiled");
        expect(runtime.origin!(format)).toBe("runtime");
        const a = runtime.record(format);
        const b = built.record(format);
        for (const value of values) {
          const ok = a(value);
          expect(b(value)).toBe(ok);
          expect(b.errors ?? null).toEqual(a.errors ?? null);
          if (!ok) failures++;
        }
      }
      // Each format refuses the other formats' records: the errors compared are many and varied.
      expect(failures).toBeGreaterThan(1000);
      for (const schema of toolSchemas(values)) expect(built.checkJsonSchema(schema)).toBe(runtime.checkJsonSchema(schema));
    });

    it("fall back to ajv at run time for a schema edited since the build, and without the generated module", async () => {
      // Beside the real one: the generated code requires ajv's runtime helpers from the package's node_modules.
      const dir = await mkdtemp(join(dirname(fileURLToPath(precompiledPath())), ".test-"));
      try {
      const stale = join(dir, "record-validators.cjs");
      await copyFile(precompiledPath(), stale);
      const text = await readFile(stale, "utf8");
      const file = RECORD_SCHEMA_FILES["mistral-chat"];
      const edited = text.replace(new RegExp(`"${file.replace(/\./g, "\\.")}":"[0-9a-f]{64}"`), `"${file}":"${"0".repeat(64)}"`);
      expect(edited).not.toBe(text);
      await writeFile(stale, edited);
      const registry = createSchemaRegistry({ precompiled: pathToFileURL(stale) });
      expect(registry.origin!("mistral-chat")).toBe("runtime");
      expect(registry.origin!("openai-chat")).toBe("precompiled");
      const record = { messages: [{ role: "user", content: "q" }, { role: "robot", content: "a" }] };
      const validate = registry.record("mistral-chat");
      expect(validate(record)).toBe(false);
      expect(validate.errors![0]!.instancePath).toBe("/messages/1/role");

      const absent = createSchemaRegistry({ precompiled: pathToFileURL(join(dir, "none.cjs")) });
      expect(absent.origin!("mistral-chat")).toBe("runtime");
      expect(absent.checkJsonSchema({ type: 5 })).toBe(createSchemaRegistry({ precompiled: false }).checkJsonSchema({ type: 5 }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
