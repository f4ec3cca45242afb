import { createRequire } from "node:module";

/**
 * A yes/no validator compiled from a record schema: `true` means the value matches the schema, exactly as ajv
 * would answer, and it allocates nothing to say so. ajv's generated code, even with `allErrors` off, builds error
 * objects in every `if`, `not` and failing `anyOf`/`oneOf` branch and an options object and a path string for every
 * `$ref` call — about 4 kB of garbage per valid chat record, more than `JSON.parse` makes. Validation calls this
 * first on every record and runs ajv (for its first error, E_SCHEMA's message) only when it says no, so the
 * findings are the same whichever answers.
 *
 * It knows the keywords the record schemas use, with ajv's semantics (draft-07, `unicodeRegExp`, code-point string
 * lengths, ajv's deep equality for `const`/`enum`); a schema with any other keyword, a `$ref` beside other keywords
 * or a `$ref` it cannot resolve to a schema file of the same folder throws `UnsupportedSchemaError`, and the caller
 * keeps ajv alone for that format.
 */
export type SchemaGate = (value: unknown) => boolean;

export class UnsupportedSchemaError extends Error {
  override name = "UnsupportedSchemaError";
}

type Schema = Record<string, unknown> | boolean;

/** Keywords that do not constrain a value. */
const ANNOTATIONS = new Set(["$id", "$schema", "$comment", "title", "description", "definitions", "examples", "default"]);

const require = createRequire(import.meta.url);

/**
 * Compiles the schema file `file`; `load` gives any schema file of its folder as parsed JSON (a `$ref` to
 * `other.schema.json#/...` loads `other.schema.json`). Each file's `$id` must end with `/<file>`, which is what makes
 * such a relative `$ref` resolve to it under ajv.
 */
export function compileSchemaGate(file: string, load: (file: string) => unknown): SchemaGate {
  return new GateCompiler(load).compile(file);
}

class GateCompiler {
  private readonly files = new Map<string, Schema>();
  private readonly names = new Map<object, string>();
  private readonly functions: string[] = [];
  private readonly constants: unknown[] = [];

  constructor(private readonly load: (file: string) => unknown) {}

  compile(file: string): SchemaGate {
    const root = this.function(this.file(file), file);
    const body = `"use strict";\n${this.functions.join("\n")}\nreturn ${root};`;
    const equal = (require("ajv/dist/runtime/equal") as { default: (a: unknown, b: unknown) => boolean }).default;
    const ucs2length = (require("ajv/dist/runtime/ucs2length") as { default: (s: string) => number }).default;
    return new Function("K", "equal", "ucs2length", body)(this.constants, equal, ucs2length) as SchemaGate;
  }

  private file(file: string): Schema {
    let schema = this.files.get(file);
    if (schema === undefined) {
      if (!/^[A-Za-z0-9._-]+\.json$/.test(file)) throw new UnsupportedSchemaError(`$ref to ${file}: only schema files of the same folder`);
      schema = this.load(file) as Schema;
      const id = typeof schema === "object" ? schema.$id : undefined;
      if (typeof id !== "string" || !id.endsWith(`/${file}`)) throw new UnsupportedSchemaError(`${file}: its $id does not end with /${file}`);
      this.files.set(file, schema);
    }
    return schema;
  }

  private resolve(ref: string, file: string): { schema: Schema; file: string } {
    const hash = ref.indexOf("#");
    const target = hash === -1 ? ref : ref.slice(0, hash);
    const pointer = hash === -1 ? "" : ref.slice(hash + 1);
    const inFile = target === "" ? file : target;
    let schema: unknown = this.file(inFile);
    if (pointer !== "") {
      if (!pointer.startsWith("/")) throw new UnsupportedSchemaError(`$ref ${ref}: not a JSON pointer`);
      for (const raw of pointer.slice(1).split("/")) {
        const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
        if (schema === null || typeof schema !== "object" || !Object.hasOwn(schema, key)) throw new UnsupportedSchemaError(`$ref ${ref} does not resolve`);
        schema = (schema as Record<string, unknown>)[key];
      }
    }
    if (typeof schema !== "boolean" && (schema === null || typeof schema !== "object" || Array.isArray(schema))) {
      throw new UnsupportedSchemaError(`$ref ${ref} is not a schema`);
    }
    return { schema: schema as Schema, file: inFile };
  }

  private constant(value: unknown): string {
    this.constants.push(value);
    return `K[${this.constants.length - 1}]`;
  }

  /** The name of a function `(d) => boolean` for `schema` (found in `file`), compiled once per schema object. */
  private function(schema: Schema, file: string): string {
    if (schema === true) return this.named(true, "return true;");
    if (schema === false) return this.named(false, "return false;");
    const known = this.names.get(schema);
    if (known !== undefined) return known;
    const name = `v${this.names.size}`;
    this.names.set(schema, name); // before the body: a recursive $ref calls the function being compiled
    this.functions.push(`function ${name}(d) {\n${this.body(schema, file)}\nreturn true;\n}`);
    return name;
  }

  private readonly booleans = new Map<boolean, string>();
  private named(value: boolean, body: string): string {
    let name = this.booleans.get(value);
    if (name === undefined) {
      name = `b${value ? 1 : 0}`;
      this.booleans.set(value, name);
      this.functions.push(`function ${name}(d) { ${body} }`);
    }
    return name;
  }

  private body(schema: Record<string, unknown>, file: string): string {
    if (Object.hasOwn(schema, "$id") && this.files.get(file) !== schema) throw new UnsupportedSchemaError("$id inside a schema");
    const out: string[] = [];
    const keys = Object.keys(schema).filter((key) => !ANNOTATIONS.has(key));
    if (schema.$ref !== undefined) {
      if (keys.length > 1) throw new UnsupportedSchemaError(`$ref beside ${keys.filter((k) => k !== "$ref").join(", ")}`);
      if (typeof schema.$ref !== "string") throw new UnsupportedSchemaError("$ref must be a string");
      const target = this.resolve(schema.$ref, file);
      return `return ${this.function(target.schema, target.file)}(d);`;
    }
    const objectKeywords: string[] = [];
    const arrayKeywords: string[] = [];
    const stringKeywords: string[] = [];
    for (const key of keys) {
      const value = schema[key];
      switch (key) {
        case "type": {
          const types = Array.isArray(value) ? value : [value];
          out.push(`if (!(${types.map((type) => typeCheck(type)).join(" || ")})) return false;`);
          break;
        }
        case "const":
          out.push(`if (!(${this.equals("d", value)})) return false;`);
          break;
        case "enum": {
          if (!Array.isArray(value) || value.length === 0) throw new UnsupportedSchemaError("enum must be a non-empty array");
          out.push(`if (!(${value.map((item) => this.equals("d", item)).join(" || ")})) return false;`);
          break;
        }
        case "required":
          if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) throw new UnsupportedSchemaError("required must list names");
          for (const name of value as string[]) objectKeywords.push(`if (d[${JSON.stringify(name)}] === undefined) return false;`);
          break;
        case "properties":
          for (const [name, sub] of Object.entries(object(value, key))) {
            const access = `d[${JSON.stringify(name)}]`;
            objectKeywords.push(`if (${access} !== undefined && !${this.function(schemaOf(sub), file)}(${access})) return false;`);
          }
          break;
        case "additionalProperties": {
          const known = Object.keys(object(schema.properties ?? {}, "properties"));
          const listed = known.length === 0 ? "false" : known.map((name) => `k === ${JSON.stringify(name)}`).join(" || ");
          const extra = value === false ? "return false;" : `if (!${this.function(schemaOf(value), file)}(d[k])) return false;`;
          objectKeywords.push(`for (const k in d) { if (!(${listed})) { ${extra} } }`);
          break;
        }
        case "minProperties":
          objectKeywords.push(`if (Object.keys(d).length < ${count(value, key)}) return false;`);
          break;
        case "items":
          if (Array.isArray(value)) {
            value.forEach((sub, i) => arrayKeywords.push(`if (d.length > ${i} && !${this.function(schemaOf(sub), file)}(d[${i}])) return false;`));
          } else {
            arrayKeywords.push(`for (let i = 0; i < d.length; i++) if (!${this.function(schemaOf(value), file)}(d[i])) return false;`);
          }
          break;
        case "minItems":
          arrayKeywords.push(`if (d.length < ${count(value, key)}) return false;`);
          break;
        case "maxItems":
          arrayKeywords.push(`if (d.length > ${count(value, key)}) return false;`);
          break;
        case "minLength":
          stringKeywords.push(`if (ucs2length(d) < ${count(value, key)}) return false;`);
          break;
        case "maxLength":
          stringKeywords.push(`if (ucs2length(d) > ${count(value, key)}) return false;`);
          break;
        case "pattern":
          if (typeof value !== "string") throw new UnsupportedSchemaError("pattern must be a string");
          stringKeywords.push(`if (!${this.constant(new RegExp(value, "u"))}.test(d)) return false;`);
          break;
        case "allOf":
          for (const sub of array(value, key)) out.push(`if (!${this.function(schemaOf(sub), file)}(d)) return false;`);
          break;
        case "anyOf":
          out.push(`if (!(${array(value, key).map((sub) => `${this.function(schemaOf(sub), file)}(d)`).join(" || ")})) return false;`);
          break;
        case "oneOf":
          out.push(`if ((${array(value, key).map((sub) => `(${this.function(schemaOf(sub), file)}(d) ? 1 : 0)`).join(" + ")}) !== 1) return false;`);
          break;
        case "not":
          out.push(`if (${this.function(schemaOf(value), file)}(d)) return false;`);
          break;
        case "if": {
          const then = schema.then === undefined ? undefined : this.function(schemaOf(schema.then), file);
          const otherwise = schema.else === undefined ? undefined : this.function(schemaOf(schema.else), file);
          const test = this.function(schemaOf(value), file);
          if (then !== undefined || otherwise !== undefined) {
            out.push(`if (${test}(d)) { ${then ? `if (!${then}(d)) return false;` : ""} } else { ${otherwise ? `if (!${otherwise}(d)) return false;` : ""} }`);
          }
          break;
        }
        case "then":
        case "else":
          if (schema.if === undefined) throw new UnsupportedSchemaError(`${key} without if`);
          break;
        default:
          throw new UnsupportedSchemaError(`keyword ${key}`);
      }
    }
    if (objectKeywords.length > 0) out.push(`if (d !== null && typeof d === "object" && !Array.isArray(d)) {\n${objectKeywords.join("\n")}\n}`);
    if (arrayKeywords.length > 0) out.push(`if (Array.isArray(d)) {\n${arrayKeywords.join("\n")}\n}`);
    if (stringKeywords.length > 0) out.push(`if (typeof d === "string") {\n${stringKeywords.join("\n")}\n}`);
    return out.join("\n");
  }

  /** `const`/`enum` equality as ajv has it: `===` for a primitive, ajv's deep equality for an object or array. */
  private equals(data: string, value: unknown): string {
    if (value === null || typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))) {
      return `${data} === ${JSON.stringify(value)}`;
    }
    return `equal(${data}, ${this.constant(value)})`;
  }
}

/** ajv's type tests (its `checkDataType`: numbers are finite, integers have no fraction). */
function typeCheck(type: unknown): string {
  switch (type) {
    case "object":
      return `(d !== null && typeof d === "object" && !Array.isArray(d))`;
    case "array":
      return "Array.isArray(d)";
    case "string":
      return `typeof d === "string"`;
    case "boolean":
      return `typeof d === "boolean"`;
    case "null":
      return "d === null";
    case "number":
      return `(typeof d === "number" && isFinite(d))`;
    case "integer":
      return `(typeof d === "number" && !(d % 1) && !isNaN(d) && isFinite(d))`;
    default:
      throw new UnsupportedSchemaError(`type ${String(type)}`);
  }
}

function schemaOf(value: unknown): Schema {
  if (typeof value === "boolean" || (value !== null && typeof value === "object" && !Array.isArray(value))) return value as Schema;
  throw new UnsupportedSchemaError("a subschema must be an object or a boolean");
}

function object(value: unknown, key: string): Record<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new UnsupportedSchemaError(`${key} must be an object`);
}

function array(value: unknown, key: string): unknown[] {
  if (Array.isArray(value) && value.length > 0) return value;
  throw new UnsupportedSchemaError(`${key} must be a non-empty array`);
}

function count(value: unknown, key: string): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  throw new UnsupportedSchemaError(`${key} must be a non-negative integer`);
}
