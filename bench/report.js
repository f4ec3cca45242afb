// Report benchmark (`npm run bench`, part "report"): what the figures of `--html` / `--json` cost. The validation
// pass gathers them on every run, so the baseline is the same pass with them off (`validateFile(…, {figures:
// false})`): each pass in its own process, alternating, best of three, on the 1 GB file, timed both by the wall
// clock and by CPU time (user + system, from /usr/bin/time; steadier than the wall clock on a shared machine).
// Then the HTML page of that file's report is rendered from its `--json` document: its size (bound: under 2 MB)
// and its CPU time. Bound: figures and page together add under 5% of the pass's CPU time.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** One pass of bench/speed.js: wall-clock and CPU seconds. */
async function timed(here, mode, file) {
  const { stderr } = await run("/usr/bin/time", ["-f", "%U %S %e", process.execPath, join(here, "speed.js"), mode, file], { maxBuffer: 1 << 20 });
  const [user, system, wall] = stderr.trim().split("\n").at(-1).split(" ").map(Number);
  return { cpu: user + system, wall };
}

export async function reportBench({ here, bin, dataset, largeMb }) {
  console.log(`\n# the report's figures and HTML page — cost on the ${largeMb} MB file`);
  const large = await dataset(largeMb);
  const modes = ["ftprep-nofigures", "ftprep"];
  const best = Object.fromEntries(modes.map((m) => [m, { cpu: Infinity, wall: Infinity }]));
  for (let round = 0; round < 3; round++) {
    for (const mode of modes) {
      const t = await timed(here, mode, large);
      best[mode].cpu = Math.min(best[mode].cpu, t.cpu);
      best[mode].wall = Math.min(best[mode].wall, t.wall);
    }
  }
  const [off, on] = [best["ftprep-nofigures"], best.ftprep];
  console.log(`validateFile without figures: ${off.cpu.toFixed(2)} s CPU, ${off.wall.toFixed(2)} s wall`);
  console.log(`validateFile with figures:    ${on.cpu.toFixed(2)} s CPU (${(on.cpu / off.cpu).toFixed(3)}×), ${on.wall.toFixed(2)} s wall (${(on.wall / off.wall).toFixed(3)}×)`);
  const { stdout } = await run(bin, ["validate", "--json", "--quiet", large], { maxBuffer: 256 << 20 }).catch((e) => e);
  const { renderReport } = await import("../dist/index.js");
  const doc = JSON.parse(stdout);
  const before = process.cpuUsage();
  const html = renderReport(doc);
  const used = process.cpuUsage(before);
  const renderSeconds = (used.user + used.system) / 1e6;
  const htmlBytes = Buffer.byteLength(html);
  console.log(`--json document: ${(Buffer.byteLength(stdout) / 1e3).toFixed(1)} kB; HTML page: ${(htmlBytes / 1e3).toFixed(1)} kB (bound < 2 MB), rendered in ${(renderSeconds * 1000).toFixed(0)} ms CPU`);
  const added = (on.cpu - off.cpu + renderSeconds) / off.cpu;
  const ok = htmlBytes < 2e6 && added < 0.05;
  console.log(`figures + page add ${(added * 100).toFixed(1)}% to the pass's CPU time (bound < 5%): ${ok ? "met" : "NOT MET"}`);
  return ok;
}
