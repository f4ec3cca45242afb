// Part of `npm run build`, after tsc: writes ajv's standalone code of every record schema (and of the draft-07
// meta-schema) to dist/validate/record-validators.cjs, so no thread compiles a schema at run time. A schema edited
// after the build is compiled at run time instead (see src/validate/schema-registry.ts).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { precompiledSource } from "../dist/validate/schema-registry.js";

const out = new URL("../dist/validate/record-validators.cjs", import.meta.url);
writeFileSync(out, precompiledSource());
console.log(`wrote ${fileURLToPath(out)}`);

// ftprep's own documents (manifest, plan, queue message, pipeline file): src/document-schemas.ts.
const { documentValidatorsSource } = await import("../dist/document-schemas.js");
const documents = new URL("../dist/document-validators.cjs", import.meta.url);
writeFileSync(documents, documentValidatorsSource());
console.log(`wrote ${fileURLToPath(documents)}`);
