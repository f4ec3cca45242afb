import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

/**
 * A temporary directory made before the tests and removed after them: fresh for each test (`"each"`) or shared
 * by the file's tests (`"all"`). Returns a getter, since the directory exists only once the hook has run.
 */
export function useTempDir(prefix: string, scope: "each" | "all" = "each"): () => string {
  let dir = "";
  const [before, after] = scope === "each" ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `ftprep-${prefix}-`));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return () => dir;
}
