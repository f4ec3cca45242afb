import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateFile } from "../../src/validate/file.js";

/**
 * OpenAI's DPO records and Together's preference records share one walk (`walkPreference`): `input` and its
 * messages, then each output. Each provider keeps its own words ("array" / "list") and its own check of the output
 * message; these are the messages both gave before they shared it, every one of them.
 */

const PINNED: Record<string, [number, string, string, string][]> = {
  "openai-dpo-rules.jsonl": [
    [1,"E_PREFERENCE_SHAPE","/input","the record has no `input`"],
    [2,"E_PREFERENCE_SHAPE","/input","`input` must be an object, got an array"],
    [3,"E_PREFERENCE_SHAPE","/input/messages","the preference record's `input` has no `messages`"],
    [5,"E_PREFERENCE_SHAPE","/preferred_output","`preferred_output` must be an array of exactly one assistant message; it has 2 messages"],
    [6,"E_PREFERENCE_SHAPE","/non_preferred_output","`non_preferred_output` must be an array of exactly one assistant message; it is missing"],
    [7,"E_PREFERENCE_SHAPE","/non_preferred_output","`non_preferred_output` must be an array of exactly one assistant message; got an object"],
    [8,"E_PREFERENCE_SHAPE","/preferred_output/0/role","`preferred_output` must hold an assistant message, got role \"user\""],
    [9,"E_PREFERENCE_SHAPE","/non_preferred_output","`non_preferred_output` must be an array of exactly one assistant message; it has 0 messages"],
    [10,"E_PREFERENCE_LAST_ROLE","/input/messages/1","the input must not end with an assistant message; the outputs are the assistant's turn"],
    [12,"E_MISSING_CONTENT","/preferred_output/0/content","the assistant message has neither `content` nor `tool_calls`"],
  ],
  "together-preference-rules.jsonl": [
    [2,"E_PREFERENCE_LAST_ROLE","/input/messages/1","the input must not end with an assistant message; the outputs are the assistant's turn"],
    [3,"E_PREFERENCE_SHAPE","/preferred_output","`preferred_output` must be a list of exactly one assistant message; it has 2 messages"],
    [4,"E_PREFERENCE_SHAPE","/preferred_output/0/role","`preferred_output` must hold an assistant message, got role \"user\""],
    [5,"E_PREFERENCE_SHAPE","/input/messages","the preference record's `input` has no `messages`"],
    [6,"E_MISSING_CONTENT","/preferred_output/0/content","the `preferred_output` message has no `content`"],
  ],
};
const FORMATS: Record<string, "openai-dpo" | "together-preference"> = { "openai-dpo-rules.jsonl": "openai-dpo", "together-preference-rules.jsonl": "together-preference" };

describe("the preference walk", () => {
  for (const [file, expected] of Object.entries(PINNED)) {
    it(`${file}: the same findings, in the same words`, async () => {
      const report = await validateFile(join(import.meta.dirname, "..", "..", "fixtures", "invalid", file), { format: FORMATS[file]!, maxIssues: 1000 });
      const got = report.issues.filter((i) => /PREFERENCE|MISSING_CONTENT/.test(i.code)).map((i) => [i.line, i.code, i.path, i.message]);
      expect(got).toEqual(expected);
    });
  }
});
