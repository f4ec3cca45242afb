import { describeType, Findings, type IssueDraft, isObject } from "../findings.js";
import type { SchemaRegistry } from "../schema-registry.js";
import type { RecordStats } from "../stats.js";

/** Mistral tool-call ids: nine ASCII letters or digits (mistral-common's validator). */
export const ID_PATTERN = /^[a-zA-Z0-9]{9}$/;
/** Function, tool-call and tool-message names. */
export const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

interface ToolsVerdict {
  declared: Set<string>;
  issues: IssueDraft[];
}

/** Distinct tool arrays remembered: a dataset repeats the same few, and checking one costs a meta-schema pass. */
const TOOLS_CACHE_LIMIT = 256;
const toolsCache = new Map<string, ToolsVerdict>();

/**
 * Checks a record's tool definitions (`tools` / `available_tools`) and returns the declared function names, or
 * undefined when `tools` is not an array (then calls cannot be matched against it). Mistral requires `name`,
 * `description` and an object `parameters`; OpenAI requires only `name`. The verdict on a tools array is
 * remembered by its JSON text, which the token estimate needs anyway.
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
  const json = JSON.stringify(tools);
  stats.textChars += json.length;
  const key = `${flavour}\u0000${path}\u0000${json}`;
  let verdict = toolsCache.get(key);
  if (verdict === undefined) {
    const own = new Findings();
    verdict = { declared: checkTools(tools, path, own, schemas, flavour), issues: own.issues ?? [] };
    if (toolsCache.size >= TOOLS_CACHE_LIMIT) toolsCache.clear();
    toolsCache.set(key, verdict);
  }
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
    const fn = tool.function;
    if (!isObject(fn)) {
      findings.add("E_TOOL_SHAPE", `${path}/${j}/function`, fn === undefined ? "the tool has no `function`" : `\`function\` must be an object, got ${describeType(fn)}`);
      continue;
    }
    const name = fn.name;
    if (name === undefined || name === null) {
      findings.add("E_TOOL_SHAPE", `${path}/${j}/function/name`, "the tool's function has no `name`");
    } else if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
      findings.add("E_NAME", `${path}/${j}/function/name`, `function name ${JSON.stringify(name)} must match ^[a-zA-Z0-9_-]{1,64}$`);
    } else {
      declared.add(name);
    }
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
