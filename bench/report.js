// Report benchmark (`npm run bench`, part "report"): what the figures of `--html` / `--json` cost. The validation
// pass gathers them on every run, so the baseline is the same pass with them off (`validateFile(…, {figures:
// false})`), each pass in its own process, best of three, on the 1 GB file; then the HTML page of that file's
// report is rendered from its `--json` document: its size (bound: under 2 MB) and its time. Bound: figures and
// page together add under 5% to the pass.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function timed(here, mode, file) {
  const { stdout } = await run(process.execPath, [join(here, "speed.js"), mode, file], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

export async function reportBench({ here, bin, dataset, largeMb }) {
  console.log(`\n# the report's figures and HTML page — cost on the ${largeMb} MB file`);
  const large = await dataset(largeMb);
  const best = { "ftprep-nofigures": Infinity, ftprep: Infinity };
  for (let round = 0; round < 3; round++) {
    for (const mode of Object.keys(best)) best[mode] = Math.min(best[mode], (await timed(here, mode, large)).seconds);
  }
  console.log(`validateFile without figures: ${best["ftprep-nofigures"].toFixed(2)} s`);
  console.log(`validateFile with figures:    ${best.ftprep.toFixed(2)} s (${(best.ftprep / best["ftprep-nofigures"]).toFixed(3)}×)`);
  const { stdout } = await run(bin, ["validate", "--json", "--quiet", large], { maxBuffer: 256 << 20 }).catch((e) => e);
  const { renderReport } = await import("../dist/index.js");
  const doc = JSON.parse(stdout);
  const start = performance.now();
  const html = renderReport(doc);
  const renderSeconds = (performance.now() - start) / 1000;
  const htmlBytes = Buffer.byteLength(html);
  console.log(`--json document: ${(Buffer.byteLength(stdout) / 1e3).toFixed(1)} kB; HTML page: ${(htmlBytes / 1e3).toFixed(1)} kB (bound < 2 MB), rendered in ${(renderSeconds * 1000).toFixed(0)} ms`);
  const added = (best.ftprep - best["ftprep-nofigures"] + renderSeconds) / best["ftprep-nofigures"];
  const ok = htmlBytes < 2e6 && added < 0.05;
  console.log(`figures + page add ${(added * 100).toFixed(1)}% to the pass (bound < 5%): ${ok ? "met" : "NOT MET"}`);
  return ok;
}
