// Text-only counting speed: every string value of the given JSONL files counted by each bundled tokenizer, three
// passes (the first with an empty cache), CPU time of the process (steadier than the wall clock on a shared machine).
//   node bench/token-text.js FILE.jsonl…   (e.g. the real published datasets of shared/real-data)
import { readFileSync } from "node:fs";

const { loadTokenizer } = await import("../dist/tokens/vocabularies.js");
const texts = [];
const walk = (v) => {
  if (typeof v === "string") texts.push(v);
  else if (Array.isArray(v)) v.forEach(walk);
  else if (v && typeof v === "object") Object.values(v).forEach(walk);
};
for (const file of process.argv.slice(2)) {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    try {
      walk(JSON.parse(line));
    } catch {
      // not a record: skipped
    }
  }
}
const mb = texts.reduce((n, t) => n + Buffer.byteLength(t), 0) / 1e6;
console.log(`${texts.length} strings, ${mb.toFixed(2)} MB`);
for (const name of ["tekken-240718", "o200k_base", "cl100k_base", "mistral-sp-v3"]) {
  const tokenizer = await loadTokenizer(name);
  const rates = [];
  let tokens = 0;
  for (let pass = 0; pass < 3; pass++) {
    const cpu = process.cpuUsage();
    tokens = 0;
    for (const t of texts) tokens += tokenizer.count(t);
    const used = process.cpuUsage(cpu);
    rates.push((mb / ((used.user + used.system) / 1e6)).toFixed(1));
  }
  console.log(`${name}: ${tokens} tokens; MB/s of CPU time, first pass (empty cache) then two more: ${rates.join(", ")}`);
}
