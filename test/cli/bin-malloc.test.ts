import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useTempDir } from "../helpers/temp.js";

// The bin's shebang sets glibc's malloc to keep freed memory for reuse (see bin/ftprep.js): without it the local
// Files API faults in fresh pages for every piece of every upload body. The bin is run as users run it (its
// shebang, not `node bin/ftprep.js`), so this checks that the settings reach the process and the server works.
describe("the bin's malloc settings", () => {
  const tmp = useTempDir("bin-malloc");
  it("reach `ftprep serve` run through the shebang, which then answers an upload", async () => {
    const child = spawn(join(process.cwd(), "bin", "ftprep.js"), ["serve", "--port", "0", "--store", join(tmp(), "store")], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      child.stdout.setEncoding("utf8");
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (d: string) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`ftprep serve exited ${code}`)));
      });
      const environ = (await readFile(`/proc/${child.pid}/environ`, "utf8")).split("\0");
      expect(environ).toContain("MALLOC_TRIM_THRESHOLD_=67108864");
      expect(environ).toContain("MALLOC_TOP_PAD_=67108864");
      const form = new FormData();
      form.set("purpose", "fine-tune");
      const line = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n';
      form.set("file", new Blob([line]), "a.jsonl");
      const res = await fetch(`${url}/v1/files`, { method: "POST", body: form });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ object: "file", bytes: Buffer.byteLength(line), num_lines: 1, filename: "a.jsonl" });
    } finally {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    }
  });
});
