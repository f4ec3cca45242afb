import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const repo = join(import.meta.dirname, "..");

/** The README's ```ts blocks, each with the line it starts on. */
function tsBlocks(): { line: number; code: string }[] {
  const lines = readFileSync(join(repo, "README.md"), "utf8").split("\n");
  const blocks: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```ts") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== "```") end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return blocks;
}

describe("the README's TypeScript", () => {
  const dir = mkdtempSync(join(tmpdir(), "ftprep-readme-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // One TypeScript program over every block: about 5 s on an idle 2-core machine, past 30 s when the cores are busy.
  it("typechecks against the package's own types, block by block", { timeout: 120_000 }, () => {
    const blocks = tsBlocks();
    expect(blocks.length).toBeGreaterThan(0);
    // Each block is its own module (top-level await, `import … from "ftprep"`), compiled with the project's strictness.
    const files = blocks.map((b, i) => {
      const file = join(dir, `readme-${i + 1}-line-${b.line}.mts`);
      writeFileSync(file, `${b.code}\nexport {};\n`);
      return file;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2023,
      lib: ["lib.es2023.d.ts"],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      noEmit: true,
      types: ["node"],
      typeRoots: [join(repo, "node_modules", "@types")],
      baseUrl: repo,
      paths: { ftprep: ["./src/index.ts"] },
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || files.includes(d.file.fileName));
    const text = diagnostics.map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    expect(text).toEqual([]);
  });
});
