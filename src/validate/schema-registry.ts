import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { loadSchemaFile } from "../schema-files.js";
import type { FormatId } from "../types.js";

/**
 * Every JSON Schema ftprep uses, each compiled once when first asked for and then only called.
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
  "together-chat": "together-chat.schema.json",
  "together-instruction": "together-instruction.schema.json",
  "together-text": "together-text.schema.json",
  "together-preference": "together-preference.schema.json",
};

/** Formats an ajv error as `"/instance/path must ..."`. */
export function formatAjvError(error: ErrorObject): string {
  const where = error.instancePath === "" ? "the value" : error.instancePath;
  return `${where} ${error.message ?? "is invalid"}`;
}

function createRegistry(): SchemaRegistry {
  // allErrors off: the schema is a gate and E_SCHEMA's fallback message; the rule functions report every issue.
  const ajv = new Ajv({ allErrors: false, strict: true, strictTuples: false, strictRequired: false });
  for (const file of Object.values(RECORD_SCHEMA_FILES)) ajv.addSchema(loadSchemaFile(file), file);
  // Compiled on first use, once: a run needs one format's schema (others only for the cross-provider hint), and
  // compiling all five costs more start-up than validating a 10 MB file's worth of records (and again per worker).
  const compiled = new Map<FormatId, ValidateFunction>();
  let meta: ValidateFunction | undefined;
  const compile = (id: string): ValidateFunction => {
    const validate = ajv.getSchema(id);
    if (!validate) throw new Error(`schema ${id} did not compile`);
    return validate;
  };

  return {
    record(format) {
      let validate = compiled.get(format);
      if (validate === undefined) compiled.set(format, (validate = compile(RECORD_SCHEMA_FILES[format])));
      return validate;
    },
    checkJsonSchema(value) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return "a JSON Schema must be an object";
      meta ??= compile("http://json-schema.org/draft-07/schema");
      return meta(value) ? undefined : formatAjvError(meta.errors![0]!).replace(/^the value/, "the schema");
    },
  };
}

let registry: SchemaRegistry | undefined;

/** The process-wide registry; each schema is compiled when first used and never again. */
export function schemaRegistry(): SchemaRegistry {
  registry ??= createRegistry();
  return registry;
}
