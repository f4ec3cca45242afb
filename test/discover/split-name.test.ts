import { describe, expect, it } from "vitest";
import { splitFromName } from "../../src/discover/discover.js";

describe("the split a file name says", () => {
  it.each([
    ["data/train.jsonl", "train"],
    ["train_val.jsonl", "train"],
    ["validation.jsonl", "validation"],
    ["valid.jsonl.gz", "validation"],
    ["eval-set.json", "validation"],
    ["dev.jsonl", "validation"],
    // The word mid-name, after -, _, . or a space, as the README says.
    ["foo_validation.jsonl", "validation"],
    ["x-valid.jsonl", "validation"],
    ["sft.dev.jsonl", "validation"],
    ["chat evaluation.jsonl.zst", "validation"],
    ["data-val.jsonl", "validation"],
    ["evaluation-00000-of-00001.jsonl", "validation"],
    // Not a word of its own: training.
    ["interval.jsonl", "train"],
    ["my-devices.jsonl", "train"],
    ["x-validated-answers.jsonl", "train"],
    ["chat.jsonl", "train"],
  ])("%s → %s", (name, split) => {
    expect(splitFromName(name)).toBe(split);
  });
});
