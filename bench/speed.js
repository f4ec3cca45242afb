// One timed pass over a file, in its own process so runs do not share a warmed-up heap:
//   node bench/speed.js baseline FILE   — split lines + JSON.parse, the least any validator must do
//   node bench/speed.js ftprep FILE     — ftprep's validateFile (library API, no CLI start-up)
//   node bench/speed.js ftprep-nofigures FILE — the same without the report's figures (their cost's baseline)
//   node bench/speed.js convert FILE OUT — ftprep's convertPaths to OpenAI chat (library API)
// Prints {"mode","seconds","load_seconds","records","bytes"} as JSON: `seconds` from the start (module loading
// included), `load_seconds` the part of it spent importing ftprep (0 for the bare loop).
import { createReadStream, statSync } from "node:fs";

const [mode, file, output] = process.argv.slice(2);
const bytes = statSync(file).size;
const start = performance.now();
let records = 0;
let load = 0;
if (mode === "baseline") {
  let rest = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let pos = 0;
    let i;
    while ((i = buf.indexOf(10, pos)) !== -1) {
      JSON.parse(buf.toString("utf8", pos, i));
      records++;
      pos = i + 1;
    }
    rest = buf.subarray(pos);
  }
} else if (mode === "ftprep" || mode === "ftprep-nofigures") {
  const { validateFile } = await import("../dist/index.js");
  load = (performance.now() - start) / 1000;
  const report = await validateFile(file, { figures: mode === "ftprep" });
  records = report.records;
} else if (mode === "convert") {
  const { convertPaths } = await import("../dist/index.js");
  const summary = await convertPaths([file], { to: "openai-chat", out: output });
  records = summary.totals.records_out;
} else {
  throw new Error(`unknown mode ${mode}`);
}
console.log(JSON.stringify({ mode, seconds: (performance.now() - start) / 1000, load_seconds: load, records, bytes }));
