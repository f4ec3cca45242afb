import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { prepare } from "../../src/pipeline/prepare.js";
import { validatePaths } from "../../src/pipeline/validate.js";
import { allProviders, providerOfFormat } from "../../src/target/registry.js";
import { resolveTargetSpec, targetFor } from "../../src/target/target-spec.js";
import { validateFile } from "../../src/validate/file.js";
import { HINT_RECHECK_LIMIT } from "../../src/validate/cross-provider.js";
import { runCli } from "../helpers/cli.js";
import { useServers } from "../helpers/server.js";
import { useTempDir } from "../helpers/temp.js";

const tmp = useTempDir("target");
const serve = useServers();

/** OpenAI chat as OpenAI exports it: `call_…` ids, assistant content parts, a system message right before an assistant one. */
function openaiRecord(i: number): string {
  const kind = i % 3;
  if (kind === 0) {
    return JSON.stringify({
      messages: [
        { role: "user", content: `weather in city ${i}?` },
        { role: "assistant", tool_calls: [{ id: `call_${i}abcdefXYZ`, type: "function", function: { name: "get_weather", arguments: `{"city":"c${i}"}` } }] },
        { role: "tool", tool_call_id: `call_${i}abcdefXYZ`, content: "18C" },
        { role: "assistant", content: `It is 18C in city ${i}.` },
      ],
    });
  }
  if (kind === 1) return JSON.stringify({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: [{ type: "text", text: `a${i}` }] }] });
  return JSON.stringify({ messages: [{ role: "system", content: "be brief" }, { role: "assistant", content: `hello ${i}` }] });
}

/** Mistral chat with Mistral-only keys: `interactions`, `system_prompt`. */
function mistralRecord(i: number): string {
  return i % 2 === 0
    ? JSON.stringify({ interactions: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }] })
    : JSON.stringify({ system_prompt: "be brief", messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }] });
}

const plain = (i: number) => JSON.stringify({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }] });
const lines = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => `${make(i)}\n`).join("");

async function file(name: string, text: string): Promise<string> {
  const path = join(tmp(), name);
  await writeFile(path, text);
  return path;
}

describe("the target", () => {
  it("is resolved once: the named provider, else the provider of an explicit format, else Mistral", () => {
    expect(resolveTargetSpec().provider.name).toBe("mistral");
    expect(resolveTargetSpec({ format: "openai-dpo" })).toMatchObject({ format: "openai-dpo", formats: ["openai-chat", "openai-dpo"] });
    expect(resolveTargetSpec({ format: "openai-dpo" }).provider.name).toBe("openai");
    expect(resolveTargetSpec({ provider: "openai" }).format).toBe("auto");
    expect(() => resolveTargetSpec({ provider: "mistral", format: "openai-chat" })).toThrow(ConfigError);
    expect(() => resolveTargetSpec({ provider: "openai", providerFrom: "FTPREP_PROVIDER", format: "mistral-chat" })).toThrow(
      "--format mistral-chat is Mistral's, but the target is OpenAI (FTPREP_PROVIDER=openai): use --provider mistral, or one of OpenAI's formats (openai-chat, openai-dpo, auto)",
    );
    expect(resolveTargetSpec({ provider: "together" })).toMatchObject({ format: "auto", formats: ["together-chat", "together-instruction", "together-text", "together-preference"] });
    expect(resolveTargetSpec({ format: "together-instruction" }).provider.name).toBe("together");
    expect(() => resolveTargetSpec({ provider: "anthropic" })).toThrow(/"anthropic" is not a provider; choose mistral or openai or together/);
  });

  it("has one registry: every format belongs to exactly one provider, and every provider's limits are declared", () => {
    for (const provider of allProviders()) {
      for (const format of Object.values(provider.formats)) expect(providerOfFormat(format)).toBe(provider);
      expect(provider.limits.uploadBytes).toBeGreaterThanOrEqual(provider.limits.fileBytes);
    }
  });
});

describe("--format auto, per provider", () => {
  it("detects OpenAI chat under OpenAI (valid) and Mistral chat under Mistral (invalid, with the hint)", async () => {
    const path = await file("openai_export.jsonl", lines(12, openaiRecord));
    const asOpenai = await validateFile(path, { target: targetFor("openai") });
    expect(asOpenai.format).toBe("openai-chat");
    expect(asOpenai.counts).toEqual({});
    expect(asOpenai.hints).toBeUndefined();

    const asMistral = await validateFile(path, { target: targetFor("mistral") });
    expect(asMistral.format).toBe("mistral-chat");
    expect(asMistral.invalid).toBe(12);
    expect(asMistral.hints).toEqual([
      {
        provider: "openai",
        format: "openai-chat",
        records: 12,
        invalid: 12,
        checked: 12,
        codes: ["E_CONTENT_TYPE", "E_ROLE_ORDER", "E_TOOL_CALL_ID", "E_TOOL_MESSAGE_ID"],
        message:
          "all 12 invalid records are valid OpenAI chat (openai-chat): use `--provider openai`, or fix the records for Mistral's rules (E_CONTENT_TYPE, E_ROLE_ORDER, E_TOOL_CALL_ID, E_TOOL_MESSAGE_ID)",
      },
      // Together takes the system-then-assistant records only: no tools, no mix of string and part contents.
      {
        provider: "together",
        format: "together-chat",
        records: 4,
        invalid: 12,
        checked: 12,
        codes: ["E_ROLE_ORDER"],
        message: "4 of the 12 invalid records are valid Together chat (together-chat): use `--provider together`, or fix the records for Mistral's rules (E_ROLE_ORDER)",
      },
    ]);
  });

  it("names the id repair when ids are all that is wrong for Mistral", async () => {
    const path = await file("ids.jsonl", lines(6, (i) => openaiRecord(i * 3)));
    const report = await validateFile(path);
    expect(report.hints?.[0]?.message).toBe("all 6 invalid records are valid OpenAI chat (openai-chat): use `--provider openai`, or repair the tool-call ids for Mistral (`ftprep fix`)");
  });

  it("detects Mistral chat under Mistral; under OpenAI, Mistral-only keys fail at validation time, with the hint back", async () => {
    const path = await file("mistral.jsonl", lines(10, mistralRecord));
    expect((await validateFile(path)).counts).toEqual({});
    const asOpenai = await validateFile(path, { provider: "openai" });
    expect(asOpenai.format).toBe("openai-chat");
    expect(asOpenai.invalid).toBe(10);
    expect(asOpenai.counts.E_FOREIGN_KEY).toBe(10);
    expect(asOpenai.hints).toMatchObject([{ provider: "mistral", format: "mistral-chat", records: 10, invalid: 10 }]);
  });

  it("never picks another provider's format: preference data under Mistral is Mistral chat, with the hint", async () => {
    const dpo = (i: number) =>
      JSON.stringify({ input: { messages: [{ role: "user", content: `q${i}` }] }, preferred_output: [{ role: "assistant", content: "good" }], non_preferred_output: [{ role: "assistant", content: "bad" }] });
    const path = await file("prefs.jsonl", lines(3, dpo));
    const report = await validateFile(path);
    expect(report.format).toBe("mistral-chat");
    expect(report.hints).toMatchObject([
      { provider: "openai", format: "openai-dpo", records: 3 },
      { provider: "together", format: "together-preference", records: 3 },
    ]);
    expect((await validateFile(path, { provider: "openai" })).format).toBe("openai-dpo");
  });

  it("re-checks at most HINT_RECHECK_LIMIT failing records per file, and says so", async () => {
    const n = HINT_RECHECK_LIMIT + 5;
    const path = await file("many.jsonl", lines(n, (i) => openaiRecord(i * 3)));
    const [hint] = (await validateFile(path)).hints!;
    expect(hint).toMatchObject({ records: HINT_RECHECK_LIMIT, invalid: n, checked: HINT_RECHECK_LIMIT });
    expect(hint!.message).toContain(`${HINT_RECHECK_LIMIT} of the ${n} invalid records are valid OpenAI chat (openai-chat) (of the first ${HINT_RECHECK_LIMIT} re-checked)`);
  });
});

describe("ftprep validate --provider", () => {
  it("prints the hint in the file's summary and as data in --json", async () => {
    const path = await file("openai_train.jsonl", lines(12, openaiRecord));
    const human = await runCli("validate", path);
    expect(human.code).toBe(1);
    // The hint is part of the file's result: stdout, kept by `ftprep validate … > report.txt`.
    expect(human.stdout).toContain(
      "  hint: all 12 invalid records are valid OpenAI chat (openai-chat): use `--provider openai`, or fix the records for Mistral's rules",
    );
    const json = await runCli("validate", "--json", path);
    const doc = JSON.parse(json.stdout) as { provider: string; files: { hints: { provider: string; records: number; invalid: number }[] }[] };
    expect(doc.provider).toBe("mistral");
    expect(doc.files[0]!.hints).toMatchObject([
      { provider: "openai", format: "openai-chat", records: 12, invalid: 12 },
      { provider: "together", format: "together-chat", records: 4, invalid: 12 },
    ]);
    const ok = await runCli("validate", "--provider", "openai", path);
    expect(ok.code).toBe(0);
  });

  it("takes FTPREP_PROVIDER, and refuses a --format of another provider in one line (exit 2)", async () => {
    const path = await file("openai_train.jsonl", lines(12, openaiRecord));
    process.env.FTPREP_PROVIDER = "openai";
    try {
      expect((await runCli("validate", path)).code).toBe(0);
      const bad = await runCli("validate", "--format", "mistral-chat", path);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe(
        "ftprep validate: --format mistral-chat is Mistral's, but the target is OpenAI (FTPREP_PROVIDER=openai): use --provider mistral, or one of OpenAI's formats (openai-chat, openai-dpo, auto); see ftprep validate --help\n",
      );
    } finally {
      delete process.env.FTPREP_PROVIDER;
    }
    const flag = await runCli("prepare", "--provider", "mistral", "--format", "openai-chat", "--out", join(tmp(), "out"), path);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^ftprep prepare: --format openai-chat is OpenAI's, but the target is Mistral \(--provider mistral\)/);
    // With no provider named, the model (when the model table knows it) or an explicit format names it.
    expect((await runCli("validate", "--format", "openai-chat", path)).code).toBe(0);
    expect((await runCli("validate", "--model", "gpt-4o-mini-2024-07-18", path)).code).toBe(0);
    expect((await runCli("validate", "--model", "open-mistral-nemo", path)).code).toBe(1);
  });

  it("applies E_TOO_FEW_EXAMPLES to the training data only", async () => {
    const dir = join(tmp(), "few");
    await mkdir(dir);
    await writeFile(join(dir, "train.jsonl"), lines(12, plain));
    await writeFile(join(dir, "validation.jsonl"), lines(3, plain));
    const fine = await validatePaths([dir], { provider: "openai" });
    expect(fine.ok).toBe(true);
    await writeFile(join(dir, "train.jsonl"), lines(4, plain));
    const few = await validatePaths([dir], { provider: "openai" });
    expect(few.ok).toBe(false);
    expect(few.files.map((f) => [f.path.endsWith("train.jsonl"), f.counts.E_TOO_FEW_EXAMPLES ?? 0])).toEqual([
      [true, 1],
      [false, 0],
    ]);
    // Mistral has no minimum.
    expect((await validatePaths([dir])).ok).toBe(true);
  });
});

describe("plan-time provider rules", () => {
  it("refuses a --max-file-bytes above the provider's limit, naming it (usage error)", async () => {
    const path = await file("train.jsonl", lines(12, plain));
    await expect(prepare([path], { outDir: join(tmp(), "out"), maxFileBytes: 600_000_000 })).rejects.toThrow(
      "--max-file-bytes 600000000 is above Mistral's limit of 512,000,000 bytes per file (512 MB)",
    );
    await expect(prepare([path], { outDir: join(tmp(), "out"), provider: "openai", maxFileBytes: 9_000_000_000 })).rejects.toThrow(
      /above OpenAI's limit of 8,000,000,000 bytes per file/,
    );
    expect((await prepare([path], { outDir: join(tmp(), "out"), provider: "openai", maxFileBytes: 600_000_000 })).ok).toBe(true);
    const cli = await runCli("prepare", "--out", join(tmp(), "out"), "--max-file-bytes", "513MB", path);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^ftprep prepare: --max-file-bytes 513000000 is above Mistral's limit of 512,000,000 bytes per file \(512 MB\).*\n$/);
  });

  it("merges several training files into one for OpenAI (one training file per job), and says so", async () => {
    const a = await file("train-a.jsonl", lines(6, plain));
    const b = await file("train-b.jsonl", lines(7, (i) => plain(i + 100)));
    const out = join(tmp(), "out");
    // Without --merge, each file is fit for a job of its own: 6 and 7 records are each too few for OpenAI.
    const apart = await prepare([a, b], { outDir: out, provider: "openai" });
    expect(apart.ok).toBe(false);
    expect(apart.notes).toEqual(["OpenAI takes 1 training file per job; the plan has 2, each fit for a job of its own: to train one job on all of them, merge them (--merge)"]);
    expect(apart.issues.map((i) => i.message)).toEqual([
      "OpenAI needs at least 10 training examples; the training file has 6",
      "OpenAI needs at least 10 training examples; the training file has 7",
    ]);
    const plan = await prepare([a, b], { outDir: out, provider: "openai", merge: true });
    expect(plan.ok).toBe(true);
    expect(plan.files).toHaveLength(1);
    expect(plan.files[0]).toMatchObject({ kind: "merged", split: "train", records: 13, path: join(out, "merged-train.jsonl"), merged: [a, b] });
    expect(await readFile(join(out, "merged-train.jsonl"), "utf8")).toBe((await readFile(a, "utf8")) + (await readFile(b, "utf8")));
    expect(plan.notes).toEqual([`OpenAI takes 1 training file per job: merged 2 training files (13 records) into ${join(out, "merged-train.jsonl")}`]);
    // Mistral takes several weighted training files: nothing is merged.
    expect((await prepare([a, b], { outDir: out, merge: true })).files.map((f) => f.kind)).toEqual(["original", "original"]);
    // The CLI says it on the plan.
    const cli = await runCli("prepare", "--provider", "openai", "--merge", "--out", out, a, b);
    expect(cli.code).toBe(0);
    expect(cli.stdout + cli.stderr).toContain(`OpenAI takes 1 training file per job: merged 2 training files (13 records) into ${join(out, "merged-train.jsonl")}`);
  });

  it("refuses (E_JOB_FILES) when the merged file would pass the per-file limit", async () => {
    const a = await file("train-a.jsonl", lines(20, plain));
    const b = await file("train-b.jsonl", lines(20, (i) => plain(i + 100)));
    const plan = await prepare([a, b], { outDir: join(tmp(), "out"), provider: "openai", maxFileBytes: 1000, merge: true });
    expect(plan.ok).toBe(false);
    expect(plan.issues.map((i) => i.code)).toContain("E_JOB_FILES");
    expect(plan.issues.find((i) => i.code === "E_JOB_FILES")!.message).toMatch(/^OpenAI takes 1 training file per job; the plan has \d+ and together they are \d+ bytes, over the limit of 1000/);
  });

  it("counts E_TOO_FEW_EXAMPLES on the training data only, after the merge", async () => {
    const out = join(tmp(), "out");
    const small = await file("train-small.jsonl", lines(4, plain));
    const other = await file("train-other.jsonl", lines(6, (i) => plain(i + 50)));
    const val = await file("validation.jsonl", lines(2, (i) => plain(i + 90)));
    const few = await prepare([small, val], { outDir: out, provider: "openai" });
    expect(few.ok).toBe(false);
    expect(few.sources.map((s) => [s.split, s.report.counts.E_TOO_FEW_EXAMPLES ?? 0])).toEqual([
      ["train", 1],
      ["validation", 0],
    ]);
    const enough = await prepare([small, other, val], { outDir: out, provider: "openai", merge: true });
    expect(enough.issues).toEqual([]);
    expect(enough.ok).toBe(true);
  });

  it("refuses per-file weights for OpenAI, which has none", async () => {
    const a = await file("train.jsonl", lines(12, plain));
    await expect(prepare([{ path: a, weight: 2 }], { outDir: join(tmp(), "out"), provider: "openai" })).rejects.toThrow(/OpenAI fine-tuning has no per-file weights/);
  });
});

describe("the local server validates jobs for the job's provider", () => {
  async function upload(url: string, name: string, text: string): Promise<string> {
    const form = new FormData();
    form.append("purpose", "fine-tune");
    form.append("file", new Blob([text]), name);
    const res = await fetch(`${url}/v1/files`, { method: "POST", body: form });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  }

  async function job(url: string, body: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${url}/v1/fine_tuning/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  }

  async function finalJob(server: { url: string; settled(): Promise<void> }, id: string): Promise<Record<string, unknown>> {
    await server.settled();
    return (await (await fetch(`${server.url}/v1/fine_tuning/jobs/${id}`)).json()) as Record<string, unknown>;
  }

  it("OpenAI: valid OpenAI chat succeeds; Mistral-only records and too few examples fail", async () => {
    const server = await serve({ store: join(tmp(), "store"), jobs: { validationMs: 0, trainingMs: 0 } });
    const good = await upload(server.url, "openai.jsonl", lines(12, openaiRecord));
    const mistral = await upload(server.url, "mistral.jsonl", lines(12, mistralRecord));
    const few = await upload(server.url, "few.jsonl", lines(4, plain));
    const ok = await finalJob(server, await job(server.url, { model: "gpt-4o-mini", training_file: good }));
    expect(ok.status).toBe("succeeded");
    const foreign = await finalJob(server, await job(server.url, { model: "gpt-4o-mini", training_file: mistral }));
    expect(foreign.status).toBe("failed");
    expect((foreign.error as { message: string }).message).toMatch(/E_FOREIGN_KEY.*hint: all 12 invalid records are valid Mistral chat/);
    const small = await finalJob(server, await job(server.url, { model: "gpt-4o-mini", training_file: few, validation_file: few }));
    expect(small.status).toBe("failed");
    expect((small.error as { message: string }).message).toContain("E_TOO_FEW_EXAMPLES: OpenAI needs at least 10 training examples; the training file has 4");
  });

  it("Mistral: OpenAI-style ids fail validation; Mistral-only keys pass", async () => {
    const server = await serve({ store: join(tmp(), "store"), jobs: { validationMs: 0, trainingMs: 0 } });
    const openai = await upload(server.url, "openai.jsonl", lines(12, openaiRecord));
    const mistral = await upload(server.url, "mistral.jsonl", lines(12, mistralRecord));
    const failed = await finalJob(server, await job(server.url, { model: "open-mistral-7b", training_files: [{ file_id: openai }], hyperparameters: { training_steps: 1 }, auto_start: true }));
    expect(failed.status).toBe("FAILED_VALIDATION");
    const passed = await finalJob(server, await job(server.url, { model: "open-mistral-7b", training_files: [{ file_id: mistral }], hyperparameters: { training_steps: 1 }, auto_start: true }));
    expect(passed.status).toBe("SUCCESS");
  });
});

describe("Together as a target", () => {
  const fixtures = join(import.meta.dirname, "..", "..", "fixtures");

  it("detects each Together format among Together's own, and never another provider's", async () => {
    for (const format of ["together-chat", "together-instruction", "together-text", "together-preference"]) {
      const report = await validateFile(join(fixtures, "valid", `${format}.jsonl`), { provider: "together" });
      expect([report.format, report.invalid, report.issues]).toEqual([format, 0, []]);
    }
    // OpenAI preference data is Together preference data under Together (the same shape, no extra key).
    const dpo = await validateFile(join(fixtures, "valid", "openai-dpo.jsonl"), { provider: "together" });
    expect(dpo.format).toBe("together-preference");
    // Instruction records under Mistral: no Mistral format of that family, so Mistral's default says what is wrong.
    expect((await validateFile(join(fixtures, "valid", "together-instruction.jsonl"))).format).toBe("mistral-chat");
  });

  it("hints the other providers for data Together's checker refuses: roles that do not alternate, keys it has not", async () => {
    // Two user messages in a row: fine for OpenAI, refused by Together's checker.
    const doubled = (i: number) => JSON.stringify({ messages: [{ role: "user", content: `a${i}` }, { role: "user", content: `b${i}` }, { role: "assistant", content: `c${i}` }] });
    const path = await file("doubled.jsonl", lines(12, doubled));
    const asTogether = await validateFile(path, { provider: "together" });
    expect(asTogether.counts).toEqual({ E_ROLE_ORDER: 12 });
    expect(asTogether.hints?.map((h) => [h.provider, h.records])).toEqual([
      ["mistral", 12],
      ["openai", 12],
    ]);
    // `tools` is OpenAI's: Together refuses the key, and the hint says what to do.
    const tooled = await file("tools.jsonl", lines(3, (i) => JSON.stringify({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }], tools: [] })));
    const report = await validateFile(tooled, { provider: "together" });
    expect(report.counts).toEqual({ E_EXTRA_KEY: 3 });
    expect(report.hints?.find((h) => h.provider === "openai")?.message).toBe(
      "all 3 invalid records are valid OpenAI chat (openai-chat): use `--provider openai`, or drop the keys Together's format has not (its checker refuses any other key)",
    );
  });

  it("uses Together's limits: files of at most 50.1 GiB (in parts past 5 GiB), one training and one validation file per job", async () => {
    const path = await file("train.jsonl", lines(12, plain));
    await expect(prepare([path], { outDir: join(tmp(), "out"), provider: "together", maxFileBytes: 60 * 2 ** 30 })).rejects.toThrow(
      "--max-file-bytes 64424509440 is above Together's limit of 53,794,465,382 bytes per file",
    );
    const plan = await prepare([path], { outDir: join(tmp(), "out"), provider: "together" });
    expect(plan.ok).toBe(true);
    expect(plan.maxFileBytes).toBe(Math.floor(50.1 * 2 ** 30) - 1_000_000);
    // Shards of a small limit are two training files: too many for one Together job unless merged, and merged too big.
    const many = await prepare([path], { outDir: join(tmp(), "out2"), provider: "together", maxFileBytes: 600, merge: true });
    expect(many.ok).toBe(false);
    expect(many.issues.find((i) => i.code === "E_JOB_FILES")?.message).toMatch(/^Together takes 1 training file per job; the plan has \d+ and together they are \d+ bytes, over the limit of 600/);
  });

  it("FTPREP_PROVIDER=together: run uploads by Together's protocol to the embedded server, and the manifest says so", async () => {
    const cwd = process.cwd();
    process.env.FTPREP_PROVIDER = "together";
    process.chdir(tmp());
    try {
      const result = await runCli("run", "--json", "--quiet", join(fixtures, "datasets", "together-chat"));
      expect(result.code).toBe(0);
      const doc = JSON.parse(result.stdout) as { provider: string; embedded: boolean; upload: { uploaded: number } };
      expect([doc.provider, doc.embedded, doc.upload.uploaded]).toEqual(["together", true, 2]);
      const manifest = JSON.parse(await readFile(join(tmp(), "ftprep-manifest.json"), "utf8")) as { provider: string; base_url: string; files: { remote: { id: string } }[] };
      expect(manifest.provider).toBe("together");
      expect(manifest.base_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      // Together's ids (`file-…`), as the redirect-and-PUT upload hands them out.
      for (const f of manifest.files) expect(f.remote.id).toMatch(/^file-[0-9a-f-]{36}$/);
    } finally {
      process.chdir(cwd);
      delete process.env.FTPREP_PROVIDER;
    }
  });
});
