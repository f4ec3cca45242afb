import { isObject } from "../validate/findings.js";
import type { ChangeLog } from "./change-log.js";
import type { ChatTarget } from "./repairs.js";

/**
 * What cannot be carried over to the target, kind by kind, and what to do with it: `map` it to the target's
 * nearest equivalent, `drop` it, `keep` it as it is, or `fail` the record. Every action is counted.
 */

export type Policy = "map" | "drop" | "keep" | "fail";

/** The kinds of content a target may not hold, the policies each allows, and its default. */
export const POLICY_KINDS = {
  /** OpenAI's `developer` role (Mistral has none): map → `system`. */
  developer: { choices: ["map", "drop", "fail"], default: "map" },
  /** `name` on messages the target gives no name (Mistral: system/user/assistant; OpenAI: tool). */
  names: { choices: ["drop", "keep", "fail"], default: "drop" },
  /** OpenAI-only keys for a Mistral target: `parallel_tool_calls`; a message's `refusal`, `audio`, `annotations`. */
  openai_keys: { choices: ["drop", "keep", "fail"], default: "drop" },
  /** Image chunks, for a target (or model) that trains on text only. */
  images: { choices: ["keep", "drop", "fail"], default: "keep" },
  /** Source columns no chat format has (a dataset's `id`, `source`, `category`…). */
  extra_columns: { choices: ["drop", "keep", "fail"], default: "drop" },
} as const satisfies Record<string, { choices: readonly Policy[]; default: Policy }>;

export type PolicyKind = keyof typeof POLICY_KINDS;
export type Policies = { [K in PolicyKind]: (typeof POLICY_KINDS)[K]["choices"][number] };

/** The default policies. */
export function defaultPolicies(): Policies {
  return Object.fromEntries(Object.entries(POLICY_KINDS).map(([kind, info]) => [kind, info.default])) as Policies;
}

const OPENAI_RECORD_KEYS = ["parallel_tool_calls"];
const OPENAI_MESSAGE_KEYS = ["refusal", "audio", "annotations"];

/** What a policy would touch in one record, found before anything changes. */
interface Found {
  developer: number;
  names: number;
  openai_keys: number;
  images: number;
  extra_columns: string[];
}

function hasNameTheTargetLacks(m: Record<string, unknown>, target: ChatTarget): boolean {
  if (m.name === undefined) return false;
  return target === "mistral-chat" ? m.role === "system" || m.role === "user" || m.role === "assistant" || m.role === "developer" : m.role === "tool";
}

function find(record: Record<string, unknown>, extras: readonly string[], target: ChatTarget): Found {
  const found: Found = { developer: 0, names: 0, openai_keys: 0, images: 0, extra_columns: [...extras] };
  if (target === "mistral-chat") for (const key of OPENAI_RECORD_KEYS) if (record[key] !== undefined) found.openai_keys++;
  const messages = Array.isArray(record.messages) ? record.messages : [];
  for (const m of messages) {
    if (!isObject(m)) continue;
    if (target === "mistral-chat" && m.role === "developer") found.developer++;
    if (hasNameTheTargetLacks(m, target)) found.names++;
    if (target === "mistral-chat") for (const key of OPENAI_MESSAGE_KEYS) if (m[key] !== undefined) found.openai_keys++;
    if (Array.isArray(m.content)) for (const c of m.content) if (isObject(c) && c.type === "image_url") found.images++;
  }
  return found;
}

/**
 * Applies the policies to a chat record for `target`, in place. Returns the kind whose policy is `fail` when the
 * record holds such content (the record is then left untouched), else undefined.
 */
export function applyPolicies(
  record: Record<string, unknown>,
  extras: readonly string[],
  target: ChatTarget,
  policies: Policies,
  log: ChangeLog,
  line: number,
): PolicyKind | undefined {
  const found = find(record, extras, target);
  const counts: Record<PolicyKind, number> = { ...found, extra_columns: found.extra_columns.length };
  for (const kind of Object.keys(counts) as PolicyKind[]) if (counts[kind] > 0 && policies[kind] === "fail") return kind;
  const messages = Array.isArray(record.messages) ? record.messages : [];

  if (found.extra_columns.length > 0) {
    if (policies.extra_columns === "drop") for (const key of found.extra_columns) delete record[key];
    log.note(`extra_columns_${policies.extra_columns === "drop" ? "dropped" : "kept"}`, line, found.extra_columns.length, policies.extra_columns === "drop");
  }
  if (found.developer > 0) {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (!isObject(m) || m.role !== "developer") continue;
      if (policies.developer === "map") m.role = "system";
      else messages.splice(i, 1);
    }
    log.note(policies.developer === "map" ? "developer_mapped" : "developer_dropped", line, found.developer);
  }
  if (found.names > 0) {
    if (policies.names === "drop") for (const m of messages) if (isObject(m) && hasNameTheTargetLacks(m, target)) delete m.name;
    log.note(`names_${policies.names === "drop" ? "dropped" : "kept"}`, line, found.names, policies.names === "drop");
  }
  if (found.openai_keys > 0) {
    if (policies.openai_keys === "drop") {
      for (const key of OPENAI_RECORD_KEYS) delete record[key];
      for (const m of messages) if (isObject(m)) for (const key of OPENAI_MESSAGE_KEYS) delete m[key];
    }
    log.note(`openai_keys_${policies.openai_keys === "drop" ? "dropped" : "kept"}`, line, found.openai_keys, policies.openai_keys === "drop");
  }
  if (found.images > 0 && policies.images === "drop") {
    for (const m of messages) {
      if (!isObject(m) || !Array.isArray(m.content)) continue;
      const kept = m.content.filter((c) => !(isObject(c) && c.type === "image_url"));
      if (kept.length !== m.content.length) m.content = kept.length > 0 ? kept : "";
    }
    log.note("images_dropped", line, found.images);
  }
  return undefined;
}
