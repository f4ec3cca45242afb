import { describeType, Findings, type IssueDraft, isObject } from "../findings.js";
import type { SchemaRegistry } from "../schema-registry.js";
import type { RecordStats } from "../stats.js";
import { functionName, functionOf } from "./messages.js";

interface ToolsVerdict {
  tools: unknown[];
  path: string;
  flavour: "mistral" | "openai";
  chars: number;
  declared: Set<string>;
  issues: IssueDraft[];
}

/** Deep equality of two parsed JSON values (no cycles, no prototypes to care about). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // for…in over the own keys (what Object.keys lists) instead of Object.keys: no array of keys per object compared
  // (a record's tools are compared whole, and most records repeat the last ones).
  let keys = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    if (!Object.hasOwn(b, k) || !jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
    keys++;
  }
  for (const k in b) if (Object.hasOwn(b, k)) keys--;
  return keys === 0;
}

/**
 * The last tools array checked, with its verdict: the records of a dataset mostly repeat the same tools, and
 * comparing with the last one costs far less than checking it again (a meta-schema pass per function).
 */
let lastVerdict: ToolsVerdict | undefined;

/**
 * Checks a record's tool definitions (`tools` / `available_tools`) and returns the declared function names, or
 * undefined when `tools` is not an array (then calls cannot be matched against it). Mistral requires `name`,
 * `description` and an object `parameters`; OpenAI requires only `name`.
 */
export function checkToolDefinitions(
  tools: unknown,
  path: string,
  findings: Findings,
  stats: RecordStats,
  schemas: SchemaRegistry,
  flavour: "mistral" | "openai",
): Set<string> | undefined {
  if (!Array.isArray(tools)) {
    findings.add("E_TOOL_SHAPE", path, `tools must be an array, got ${describeType(tools)}`);
    return undefined;
  }
  let verdict = lastVerdict;
  if (verdict === undefined || verdict.path !== path || verdict.flavour !== flavour || !jsonEqual(verdict.tools, tools)) {
    const own = new Findings();
    const declared = checkTools(tools, path, own, schemas, flavour);
    verdict = { tools, path, flavour, chars: JSON.stringify(tools).length, declared, issues: own.issues ?? [] };
    lastVerdict = verdict;
  }
  stats.textChars += verdict.chars;
  for (const issue of verdict.issues) findings.add(issue.code, issue.path, issue.message);
  return verdict.declared;
}

function checkTools(tools: unknown[], path: string, findings: Findings, schemas: SchemaRegistry, flavour: "mistral" | "openai"): Set<string> {
  const declared = new Set<string>();
  for (let j = 0; j < tools.length; j++) {
    const tool = tools[j];
    if (!isObject(tool)) {
      findings.add("E_TOOL_SHAPE", `${path}/${j}`, `a tool must be an object, got ${describeType(tool)}`);
      continue;
    }
    const fn = functionOf(tool, `${path}/${j}`, "E_TOOL_SHAPE", "tool", findings);
    if (fn === undefined) continue;
    const name = functionName(fn, `${path}/${j}/function`, "E_TOOL_SHAPE", "tool", findings);
    if (name !== undefined) declared.add(name);
    const description = fn.description;
    if (description === undefined || description === null) {
      if (flavour === "mistral") findings.add("E_TOOL_SHAPE", `${path}/${j}/function/description`, "the tool's function has no `description`");
    } else if (typeof description !== "string") {
      findings.add("E_TOOL_SHAPE", `${path}/${j}/function/description`, `\`description\` must be a string, got ${describeType(description)}`);
    }
    const parameters = fn.parameters;
    if (parameters === undefined || parameters === null) {
      if (flavour === "mistral") findings.add("E_TOOL_SHAPE", `${path}/${j}/function/parameters`, "the tool's function has no `parameters` (use {} for none)");
    } else if (!isObject(parameters)) {
      findings.add("E_TOOL_SHAPE", `${path}/${j}/function/parameters`, `\`parameters\` must be an object, got ${describeType(parameters)}`);
    } else {
      const problem = schemas.checkJsonSchema(parameters);
      if (problem !== undefined) {
        findings.add("E_TOOL_SCHEMA", `${path}/${j}/function/parameters`, `\`parameters\` is not a valid JSON Schema: ${problem}`);
      }
    }
  }
  return declared;
}
