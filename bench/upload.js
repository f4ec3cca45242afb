// Uploader benchmark (`npm run bench`, part "upload"): the client's peak RSS through `ftprep upload` for a 100 MB
// and a 500 MB file (flat: the 500 MB figure within 10% of the 100 MB one), and the upload's throughput against
// `curl -F file=@…` to the same local server, same file, same run (best of five each: on two cores the client and
// the server share the machine, and single runs vary by ±15%).
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { curlUpload, timedServer } from "./server.js";

const run = promisify(execFile);
const here = new URL(".", import.meta.url).pathname;

async function clientRss(bin, url, file, out) {
  const manifest = join(out, `upload-bench-${Date.now()}.json`);
  const { stderr } = await run("/usr/bin/time", ["-v", bin, "upload", file, "--base-url", url, "--api-key", "bench", "--manifest", manifest, "--out", join(out, "upload-out"), "--quiet"], {
    maxBuffer: 64 << 20,
  }).catch((e) => e);
  rmSync(manifest, { force: true });
  return Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) / 1000;
}

export async function uploadBench({ bin, out, dataset }) {
  console.log(`\n# ftprep upload — client memory and throughput (to a local ftprep serve)`);
  const store = join(out, "store-upload-bench");
  rmSync(store, { recursive: true, force: true });
  const server = await timedServer(bin, store);
  try {
    const medium = await dataset(100);
    const large = await dataset(500);
    const rss100 = await clientRss(bin, server.url, medium, out);
    const rss500 = await clientRss(bin, server.url, large, out);
    const flat = rss500 <= rss100 * 1.1 && rss500 <= 150;
    console.log(`client peak RSS (validate + upload): 100 MB file ${rss100.toFixed(1)} MB, 500 MB file ${rss500.toFixed(1)} MB (${(rss500 / rss100).toFixed(2)}×; flat ≤ 1.1× and ≤ 150 MB: ${flat ? "met" : "NOT MET"})`);

    const best = { curl: Infinity, ftprep: Infinity };
    for (let round = 0; round < 5; round++) {
      best.curl = Math.min(best.curl, (await curlUpload(server.url, large)).seconds);
      const { stdout } = await run(process.execPath, [join(here, "upload-one.js"), server.url, large]);
      best.ftprep = Math.min(best.ftprep, JSON.parse(stdout).seconds);
    }
    const ratio = best.curl / best.ftprep;
    console.log(`500 MB upload: curl ${best.curl.toFixed(2)} s (${(500 / best.curl).toFixed(0)} MB/s), ftprep ${best.ftprep.toFixed(2)} s (${(500 / best.ftprep).toFixed(0)} MB/s)`);
    console.log(`throughput ratio ftprep / curl: ${ratio.toFixed(2)}× (target ≥ 0.8×: ${ratio >= 0.8 ? "met" : "NOT MET"})`);
    return flat && ratio >= 0.8;
  } finally {
    await server.stop();
  }
}
