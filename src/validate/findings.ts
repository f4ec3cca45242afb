import { ISSUE_CODES, type IssueCode } from "./codes.js";

/** An issue before it is tied to a file and line: what the per-record rules produce. */
export interface IssueDraft {
  code: IssueCode;
  path: string;
  message: string;
}

/**
 * Collects the issues of one record. Allocates nothing for a clean record, which is the common case.
 */
export class Findings {
  issues: IssueDraft[] | undefined;
  errors = 0;

  add(code: IssueCode, path: string, message: string): void {
    (this.issues ??= []).push({ code, path, message });
    if (ISSUE_CODES[code].severity === "error") this.errors++;
  }
}

/** Escapes one JSON Pointer reference token (RFC 6901). */
export function pointerToken(token: string | number): string {
  return typeof token === "number" ? String(token) : token.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Describes a JSON value's type for messages: "a string", "an array", "null"... */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}
