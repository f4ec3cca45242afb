import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ValidateFunction } from "ajv";
import { DOCUMENT_SCHEMA_FILES, type DocumentSchemaFile, documentValidator, documentValidatorOrigin, runtimeDocumentValidator } from "../../src/document-schemas.js";
import { createShardPlan } from "../../src/plan/shard-plan.js";
import { runCli } from "../helpers/cli.js";
import { useTempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const tmp = useTempDir("documents");

/** The answer of a validator: valid, or its first error's place and words. */
function answer(validate: ValidateFunction, value: unknown): string {
  return validate(value) ? "valid" : `${validate.errors![0]!.instancePath} ${validate.errors![0]!.message ?? ""}`;
}

/** A document and versions of it that its schema refuses: a key gone, a key added, a value of the wrong type, a bad date. */
function variants(doc: Record<string, unknown>): unknown[] {
  const [first, second] = Object.keys(doc);
  const out: unknown[] = [doc, { ...doc, unknownKey: 1 }, { ...doc, [first!]: { nested: [] } }];
  const { [second!]: _, ...without } = doc;
  out.push(without);
  if ("created_at" in doc) out.push({ ...doc, created_at: "yesterday" });
  return out;
}

describe("the validators of ftprep's own documents, generated at build", () => {
  it("are the build's code for every document schema, and answer as ajv compiling the schema now does", async () => {
    for (const file of DOCUMENT_SCHEMA_FILES) expect(documentValidatorOrigin(file), file).toBe("precompiled");
    const manifest = join(tmp(), "m.json");
    const up = await runCli("upload", join(repo, "fixtures", "datasets", "mistral-chat"), "--manifest", manifest, "--out", join(tmp(), "out"), "--store", join(tmp(), "store"));
    expect(up.code, up.stderr).toBe(0);
    const { plan } = await createShardPlan([join(repo, "fixtures", "datasets", "mistral-chat")], { toolVersion: "test", unitBytes: 1024 });
    const docs: Record<DocumentSchemaFile, Record<string, unknown>[]> = {
      "manifest.schema.json": [JSON.parse(await readFile(manifest, "utf8")) as Record<string, unknown>],
      "plan.schema.json": [plan as unknown as Record<string, unknown>],
      "queue-message.schema.json": [
        { version: 1, kind: "unit", plan_id: `p${"0".repeat(20)}`, options: plan.options, unit: plan.units[0] },
        { version: 1, kind: "merge", plan_id: `p${"0".repeat(20)}`, units: 3, job: { model: "open-mistral-7b", hyperparameters: { training_steps: 10 } } },
      ],
      "pipeline.schema.json": await Promise.all(["mistral-chat.json", "openai-chat.json"].map(async (f) => JSON.parse(await readFile(join(repo, "pipelines", f), "utf8")) as Record<string, unknown>)),
    };
    for (const file of DOCUMENT_SCHEMA_FILES) {
      const generated = documentValidator(file);
      const runtime = runtimeDocumentValidator(file);
      expect(generated).not.toBe(runtime);
      const values = docs[file].flatMap(variants);
      expect(values.map((v) => answer(generated, v)), file).toEqual(values.map((v) => answer(runtime, v)));
      expect(answer(generated, docs[file][0]), file).toBe("valid");
      expect(values.filter((v) => answer(generated, v) !== "valid").length, file).toBeGreaterThanOrEqual(3);
    }
  });
});
