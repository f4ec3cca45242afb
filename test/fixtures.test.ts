import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ISSUE_CODES } from "../src/validate/codes.js";
import { type FileReport, validateFile, type ValidateOptions } from "../src/validate/file.js";
import { prepare, type PrepareOptions } from "../src/pipeline/prepare.js";
import { providerOfFormat } from "../src/target/registry.js";
import { type FormatId, isFormatId } from "../src/types.js";

/**
 * Every fixture against what it must produce: valid datasets produce no issue at all, and each invalid file
 * produces exactly the (line, code, path) multiset its `.expected.json` lists. `coverage.json` ties every code to
 * a line that triggers it and a valid line exercising the same feature.
 */

const root = join(import.meta.dirname, "..", "fixtures");

interface Expected {
  format: string;
  options?: Partial<ValidateOptions>;
  issues: { line: number; code: string; path: string }[];
}

const key = (i: { line: number; code: string; path: string }) => `${i.line} ${i.code} ${i.path}`;
const sorted = (xs: string[]) => [...xs].sort();

const reports = new Map<string, Promise<FileReport>>();
function validateOnce(path: string, options: ValidateOptions): Promise<FileReport> {
  const id = `${path} ${JSON.stringify(options)}`;
  if (!reports.has(id)) reports.set(id, validateFile(path, { maxIssues: 100_000, ...options }));
  return reports.get(id)!;
}

function expectedFor(file: string): Expected {
  const stem = file.replace(/\.jsonl?$/, "");
  return JSON.parse(readFileSync(`${stem}.expected.json`, "utf8")) as Expected;
}

/** A valid fixture is named by its provider (`valid/openai-chat.jsonl`): it is validated for that provider, detecting. */
function validOptions(path: string): ValidateOptions {
  const provider = /(mistral|openai|together)-[a-z-]+?(?=[./]|-array|$)/.exec(basename(path))![0] as FormatId | string;
  return { provider: isFormatId(provider) ? providerOfFormat(provider).name : (provider.split("-")[0] as "mistral" | "openai" | "together") };
}

function optionsFor(expected: Expected): ValidateOptions {
  if (!isFormatId(expected.format)) throw new Error(`unknown format ${expected.format}`);
  return { format: expected.format, ...expected.options };
}

const validDir = join(root, "valid");
const invalidDir = join(root, "invalid");
const validFiles = readdirSync(validDir).map((f) => join(validDir, f));
const invalidFiles = readdirSync(invalidDir)
  .filter((f) => !f.endsWith(".expected.json"))
  .map((f) => join(invalidDir, f));

describe("valid fixtures", () => {
  for (const file of validFiles) {
    const format = basename(file).replace(/(-array)?\.jsonl?$/, "");
    it(`${basename(file)} is ${format} and produces no issue`, async () => {
      const report = await validateOnce(file, validOptions(file));
      expect(report.issues).toEqual([]);
      expect(report.format).toBe(format);
      expect(report.records).toBeGreaterThan(0);
      expect(report.valid).toBe(report.records);
    });
  }

  for (const dataset of readdirSync(join(root, "datasets"))) {
    for (const name of readdirSync(join(root, "datasets", dataset))) {
      // A dataset directory is named by its format, or by a kind of data of that format (function calling is chat).
      const format = ({ "mistral-function-calling": "mistral-chat", "openai-tools": "openai-chat" } as Record<string, string>)[dataset] ?? dataset;
      it(`datasets/${dataset}/${name} is ${format} and produces no issue`, async () => {
        const report = await validateOnce(join(root, "datasets", dataset, name), { duplicates: true, ...validOptions(dataset) });
        expect(report.format).toBe(format);
        expect(report.issues).toEqual([]);
      });
    }
  }

  // OpenAI chat without what only OpenAI takes is Together chat too: the quick start trains it on Together.
  for (const name of readdirSync(join(root, "datasets", "openai-chat"))) {
    it(`datasets/openai-chat/${name} is also together-chat and produces no issue for Together`, async () => {
      const report = await validateOnce(join(root, "datasets", "openai-chat", name), { duplicates: true, provider: "together" });
      expect(report.format).toBe("together-chat");
      expect(report.issues).toEqual([]);
    });
  }
});

describe("invalid fixtures", () => {
  for (const file of invalidFiles) {
    it(`${basename(file)} produces exactly its expected issues`, async () => {
      const expected = expectedFor(file);
      const report = await validateOnce(file, optionsFor(expected));
      expect(sorted(report.issues.map(key))).toEqual(sorted(expected.issues.map(key)));
      expect(Object.values(report.counts).reduce((a, b) => a + b, 0)).toBe(expected.issues.length);
    });
  }
});

describe("rule coverage", () => {
  interface CoverageEntry {
    invalid?: string;
    valid?: string;
    /** The code comes from the size guard: run `prepare` on the file with these options. */
    prepare?: Partial<PrepareOptions>;
    /** The code needs generated data (e.g. a file over 1 MB): the named test file exercises it. */
    test?: string;
  }
  const coverage = JSON.parse(readFileSync(join(root, "coverage.json"), "utf8")) as Record<string, CoverageEntry>;
  const locate = (ref: string) => {
    const [path, line] = ref.split(":");
    return { path: join(root, "..", path!), line: Number(line) };
  };
  const codesAt = (issues: { line: number; code: string }[], line: number) => issues.filter((i) => i.line === line).map((i) => i.code);

  it("names every code of the registry, and only those", () => {
    expect(Object.keys(coverage).sort()).toEqual(Object.keys(ISSUE_CODES).sort());
  });

  for (const [code, refs] of Object.entries(coverage)) {
    if (refs.test !== undefined) {
      it(`${code}: exercised by ${refs.test}`, () => {
        expect(readFileSync(join(root, "..", refs.test!), "utf8")).toContain(code);
      });
      continue;
    }
    it(`${code}: ${refs.invalid} triggers it; ${refs.valid} is clean`, async () => {
      const bad = locate(refs.invalid!);
      const good = locate(refs.valid!);
      if (refs.prepare !== undefined) {
        const out = await mkdtemp(join(tmpdir(), "ftprep-coverage-"));
        try {
          const plan = await prepare([bad.path], { outDir: out, ...refs.prepare });
          expect(codesAt(plan.sources[0]!.report.issues, bad.line)).toContain(code);
          const fine = await prepare([good.path], { outDir: out });
          expect(codesAt(fine.sources[0]!.report.issues, good.line)).toEqual([]);
          expect(fine.ok).toBe(true);
        } finally {
          await rm(out, { recursive: true, force: true });
        }
        return;
      }
      const badOptions = optionsFor(expectedFor(bad.path));
      const badReport = await validateOnce(bad.path, badOptions);
      expect(codesAt(badReport.issues, bad.line)).toContain(code);
      // A valid line of the same file is checked under the same options (a size limit, say).
      const goodReport = await validateOnce(good.path, good.path === bad.path ? badOptions : validOptions(good.path));
      expect(goodReport.records).toBeGreaterThanOrEqual(good.line);
      expect(codesAt(goodReport.issues, good.line)).toEqual([]);
    });
  }
});
