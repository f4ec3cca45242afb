import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { loadSchemaFile } from "../schema-files.js";
import type { FormatId } from "../types.js";

/**
 * Every JSON Schema ftprep uses, compiled once when the registry is first used and then only called.
 * Record schemas are keyed by format; draft-07's meta-schema checks tool `parameters` (E_TOOL_SCHEMA).
 */
export interface SchemaRegistry {
  /** The compiled validator of a record format's schema. */
  record(format: FormatId): ValidateFunction;
  /** Checks a value against the draft-07 meta-schema; returns the first problem, or undefined when it is a valid schema. */
  checkJsonSchema(value: unknown): string | undefined;
}

const RECORD_SCHEMA_FILES: Record<FormatId, string> = {
  "mistral-chat": "mistral-chat.schema.json",
  "mistral-pretrain": "mistral-pretrain.schema.json",
  "mistral-classifier": "mistral-classifier.schema.json",
  "openai-chat": "openai-chat.schema.json",
  "openai-dpo": "openai-dpo.schema.json",
};

/** Formats an ajv error as `"/instance/path must ..."`. */
export function formatAjvError(error: ErrorObject): string {
  const where = error.instancePath === "" ? "the value" : error.instancePath;
  return `${where} ${error.message ?? "is invalid"}`;
}

function createRegistry(): SchemaRegistry {
  // allErrors off: the schema is a gate and E_SCHEMA's fallback message; the rule functions report every issue.
  const ajv = new Ajv({ allErrors: false, strict: true, strictTuples: false, strictRequired: false });
  const ids = new Map<FormatId, string>();
  for (const [format, file] of Object.entries(RECORD_SCHEMA_FILES) as [FormatId, string][]) {
    const schema = loadSchemaFile(file);
    ajv.addSchema(schema, file);
    ids.set(format, file);
  }
  const compiled = new Map<FormatId, ValidateFunction>();
  for (const [format, id] of ids) {
    const validate = ajv.getSchema(id);
    if (!validate) throw new Error(`schema ${id} did not compile`);
    compiled.set(format, validate);
  }
  const meta = ajv.getSchema("http://json-schema.org/draft-07/schema");
  if (!meta) throw new Error("ajv has no draft-07 meta-schema");

  return {
    record(format) {
      return compiled.get(format)!;
    },
    checkJsonSchema(value) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return "a JSON Schema must be an object";
      return meta(value) ? undefined : formatAjvError(meta.errors![0]!).replace(/^the value/, "the schema");
    },
  };
}

let registry: SchemaRegistry | undefined;

/** The process-wide registry; every schema is compiled on the first call and never again. */
export function schemaRegistry(): SchemaRegistry {
  registry ??= createRegistry();
  return registry;
}
