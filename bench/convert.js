// Conversion benchmark (`npm run bench`, part "convert"): peak RSS of `ftprep convert` on a 10 MB and a 1 GB
// Mistral chat file (to OpenAI chat), bound: under 200 MB whatever the size; its throughput against the bare
// split-lines + JSON.parse loop on the same file in the same run; and peak RSS converting a Parquet file
// (Alpaca rows, written row group by row group here) to Mistral chat.
import { execFile } from "node:child_process";
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { mulberry32 } from "../dist/random.js";

const run = promisify(execFile);
const RSS_BOUND_MB = 200;

async function peakRss(bin, args) {
  const { stderr } = await run("/usr/bin/time", ["-v", bin, ...args], { maxBuffer: 64 << 20 }).catch((e) => e);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
  if (!kb) throw new Error(`no RSS figure in:\n${stderr}`);
  return kb / 1000;
}

async function timed(here, mode, file, output) {
  const { stdout } = await run(process.execPath, [join(here, "speed.js"), mode, file, output ?? ""], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

/** Writes about `bytes` of Alpaca rows as Parquet, one row group of 5,000 rows at a time (flat memory). */
async function parquetDataset(path, bytes) {
  if (existsSync(path) && Math.abs(statSync(path).size - bytes) < bytes * 0.2) return;
  const { ParquetWriter, fileWriter } = await import("hyparquet-writer");
  const random = mulberry32(7);
  const words = "the a model data token train file line record answer question value stream memory json schema tool".split(" ");
  const text = (n) => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(" ");
  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: [
      { name: "root", num_children: 3 },
      { name: "instruction", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
      { name: "input", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: "output", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
    ],
  });
  let n = 0;
  while (statSync(path).size < bytes) {
    const rows = 5000;
    const instruction = [];
    const input = [];
    const output = [];
    for (let i = 0; i < rows; i++, n++) {
      instruction.push(`${text(20)} (${n})`);
      input.push(n % 3 === 0 ? null : text(30));
      output.push(text(80));
    }
    writer.write({ columnData: [{ name: "instruction", data: instruction }, { name: "input", data: input }, { name: "output", data: output }], rowGroupSize: rows });
  }
  writer.finish();
}

/** Runs the conversion benchmark; returns whether its bounds were met. */
export async function convertBench({ bin, here, out, dataset, smallMb, largeMb, parquetMb }) {
  console.log(`\n# ftprep convert — memory (peak RSS, /usr/bin/time -v) and speed`);
  const small = await dataset(smallMb);
  const large = await dataset(largeMb);
  const target = join(out, "converted.jsonl");
  const rssSmall = await peakRss(bin, ["convert", small, "--to", "openai-chat", "-o", target, "--json"]);
  const rssLarge = await peakRss(bin, ["convert", large, "--to", "openai-chat", "-o", target, "--json"]);
  console.log(`${smallMb} MB Mistral chat → OpenAI chat: ${rssSmall.toFixed(1)} MB`);
  console.log(`${largeMb} MB Mistral chat → OpenAI chat: ${rssLarge.toFixed(1)} MB (${(rssLarge / rssSmall).toFixed(2)}× the ${smallMb} MB figure; bound < ${RSS_BOUND_MB} MB: ${rssLarge < RSS_BOUND_MB ? "met" : "NOT MET"})`);

  const parquet = join(out, `alpaca-${parquetMb}mb.parquet`);
  process.stderr.write(`generating ${parquet} …\n`);
  await parquetDataset(parquet, parquetMb * 1e6);
  const rssParquet = await peakRss(bin, ["convert", parquet, "--to", "mistral-chat", "-o", join(out, "alpaca.jsonl"), "--json"]);
  const parquetSize = statSync(parquet).size / 1e6;
  console.log(`${parquetSize.toFixed(0)} MB Parquet (Alpaca, row groups of 5,000 rows) → Mistral chat: ${rssParquet.toFixed(1)} MB (bound < ${RSS_BOUND_MB} MB: ${rssParquet < RSS_BOUND_MB ? "met" : "NOT MET"})`);

  const baseline = await timed(here, "baseline", large);
  const convert = await timed(here, "convert", large, target);
  const mbps = (s) => (largeMb / s).toFixed(0);
  console.log(`baseline (split lines + JSON.parse): ${baseline.seconds.toFixed(2)} s (${mbps(baseline.seconds)} MB/s)`);
  console.log(`convert (read, translate, repair, validate, write, validate the output again): ${convert.seconds.toFixed(2)} s (${mbps(convert.seconds)} MB/s)`);
  console.log(`throughput ratio convert / baseline: ${(baseline.seconds / convert.seconds).toFixed(2)}×`);
  rmSync(target, { force: true });
  return rssLarge < RSS_BOUND_MB && rssParquet < RSS_BOUND_MB && convert.records === baseline.records;
}
