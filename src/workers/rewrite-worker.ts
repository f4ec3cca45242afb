import { parentPort } from "node:worker_threads";
import { FileSystemError } from "../errors.js";
import type { RewriteTask } from "../convert/rewrite.js";

/**
 * The worker thread of `fix` and `convert` with `--workers`: rewrites one whole file as the main thread would
 * (source → transform → validator → writer, then the output validated again) and posts back its outcome. The
 * transform is made here from plain data (`RewriteTask.make`), fresh for each file as on the main thread.
 */

const port = parentPort;
if (!port) throw new Error("rewrite-worker.js runs as a worker thread");

async function run(task: RewriteTask): Promise<unknown> {
  const { rewriteFile } = await import("../convert/rewrite.js");
  const transform = task.make.command === "fix" ? (await import("../convert/fix.js")).fixTransform(task.make.spec) : (await import("../convert/convert.js")).convertTransform(task.make.spec);
  return rewriteFile(task.file, task.output, task.target, transform, task.options);
}

port.on("message", ({ id, task }: { id: number; task: RewriteTask }) => {
  run(task).then(
    (result) => port.postMessage({ id, result }),
    (error: unknown) => {
      const e = error as { code?: string; message?: string };
      port.postMessage({ id, error: { code: e.code ?? "ERR_WORKER", message: e.message ?? String(error), ...(error instanceof FileSystemError ? { path: error.path } : {}) } });
    },
  );
});
