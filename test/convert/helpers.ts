import { readFileSync } from "node:fs";
import { outputSchemaErrors } from "../helpers/output-schemas.js";

/** Records of a JSONL file (blank lines skipped). */
export function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Records as JSONL text. */
export function jsonl(records: readonly unknown[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join("");
}

/** Checks a `--json` document against the command's schema in `schemas/`; returns ajv's errors (empty when valid). */
export function schemaErrors(command: "fix" | "convert", document: unknown): string[] {
  return outputSchemaErrors(`${command}-result.schema.json`, document);
}

interface Message {
  role?: string;
  tool_calls?: { id: string; function: { name: string } }[];
  tool_call_id?: string;
}

/**
 * For each tool message, the call it answers: [message index, call index] of the latest preceding call with its
 * id. Two records whose ids differ but whose answer structure is the same pair up the same way.
 */
export function answerPairs(record: Record<string, unknown>): [number, number, number][] {
  const messages = record.messages as Message[];
  const pairs: [number, number, number][] = [];
  messages.forEach((m, j) => {
    if (m.role !== "tool") return;
    for (let i = j - 1; i >= 0; i--) {
      const k = (messages[i]!.tool_calls ?? []).findIndex((c) => c.id === m.tool_call_id);
      if (k >= 0) {
        pairs.push([j, i, k]);
        return;
      }
    }
    pairs.push([j, -1, -1]);
  });
  return pairs;
}
