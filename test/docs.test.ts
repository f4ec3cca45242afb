import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ISSUE_CODES } from "../src/validate/codes.js";

const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");

describe("README", () => {
  it("documents every issue code with its severity, and no code that does not exist", () => {
    const section = readme.slice(readme.indexOf("## Issue codes"), readme.indexOf("\n## ", readme.indexOf("## Issue codes") + 1));
    const rows = [...section.matchAll(/^\| `([EW]_[A-Z0-9_]+)` \| (error|warning) \|/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(ISSUE_CODES).map(([code, info]) => [code, info.severity])));
    expect(rows).toHaveLength(Object.keys(ISSUE_CODES).length);
  });

  it("lists every production dependency with the version package-lock.json installs, and no other", () => {
    const lock = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string; dev?: boolean; devOptional?: boolean; link?: boolean }>;
    };
    const installed = Object.entries(lock.packages)
      .filter(([path, p]) => path.startsWith("node_modules/") && !p.dev && !p.devOptional && !p.link)
      .map(([path, p]) => `${path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length)} ${p.version}`);
    const start = readme.indexOf("**Dependencies**");
    expect(start).toBeGreaterThan(0);
    const paragraph = readme.slice(start, readme.indexOf("\n\n", start));
    const listed = [...paragraph.matchAll(/(@?[a-z0-9][\w.-]*(?:\/[\w.-]+)?)\s+(\d+\.\d+\.\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect([...new Set(listed)].sort()).toEqual([...new Set(installed)].sort());
  });

  it("shows the test command the CI runs", () => {
    const ci = readFileSync(join(import.meta.dirname, "..", ".ci", "run"), "utf8");
    expect(readme).toContain("npm ci && npm test");
    expect(ci).toContain("npm ci && npm test");
  });
});
