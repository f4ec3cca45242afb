import { readdirSync } from "node:fs";
import { Ajv } from "ajv";
import { loadSchemaFile, SCHEMAS_DIR } from "../../src/schema-files.js";

/** The schemas of ftprep's machine-readable outputs: every `*-result`, `*-line` and the failure document. */
export const OUTPUT_SCHEMAS = readdirSync(SCHEMAS_DIR).filter((name) => /-(result|line)\.schema\.json$|^failure\.schema\.json$/.test(name));

// Strict: an unknown keyword or a mistyped schema is an error, so a schema cannot quietly accept anything.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
for (const name of OUTPUT_SCHEMAS) ajv.addSchema(loadSchemaFile(name));

/** Checks an output against its schema in `schemas/` (`validate-result.schema.json`…); ajv's errors, empty when valid. */
export function outputSchemaErrors(schema: string, document: unknown): string[] {
  const validate = ajv.getSchema(`https://ftprep.dev/schemas/${schema}`);
  if (!validate) throw new Error(`no output schema ${schema}`);
  return validate(document) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}
