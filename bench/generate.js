// Deterministic dataset generator for the benchmarks: realistic Mistral chat records (multi-turn, some with
// function calling), written as a stream so generating a 1 GB file takes flat memory.
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { mulberry32 } from "../dist/server/faults.js";

const WORDS = "the a model data token train file line record weather city answer question value check upload shard limit stream memory json schema tool call result user assistant system prompt fine tune batch".split(" ");

function sentence(random, n) {
  let s = "";
  for (let i = 0; i < n; i++) s += (i ? " " : "") + WORDS[Math.floor(random() * WORDS.length)];
  return s;
}

const TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["city"] },
    },
  },
];

/** One record; `i` makes every record distinct. */
export function record(random, i) {
  const messages = [{ role: "system", content: `You are assistant #${i % 97}. ${sentence(random, 12)}` }];
  const turns = 1 + Math.floor(random() * 3);
  for (let t = 0; t < turns; t++) {
    messages.push({ role: "user", content: `${sentence(random, 20 + Math.floor(random() * 40))} (${i}.${t})` });
    messages.push({ role: "assistant", content: sentence(random, 30 + Math.floor(random() * 60)) });
  }
  if (i % 5 === 0) {
    const id = `call${String(i % 100000).padStart(5, "0")}`;
    messages.push({ role: "user", content: `weather in city ${i}?` });
    messages.push({ role: "assistant", content: "", tool_calls: [{ id, type: "function", function: { name: "get_weather", arguments: `{"city":"c${i}"}` } }] });
    messages.push({ role: "tool", tool_call_id: id, name: "get_weather", content: `{"temp": ${i % 40}}` });
    messages.push({ role: "assistant", content: sentence(random, 15) });
    return JSON.stringify({ messages, tools: TOOLS });
  }
  return JSON.stringify({ messages });
}

/** Writes about `bytes` bytes of records to `path`; returns the record count. */
export async function generate(path, bytes, seed = 1) {
  const random = mulberry32(seed);
  const out = createWriteStream(path);
  let written = 0;
  let n = 0;
  while (written < bytes) {
    let chunk = "";
    while (chunk.length < 1 << 20 && written + chunk.length < bytes) chunk += `${record(random, n++)}\n`;
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return n;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path, mb] = process.argv.slice(2);
  const n = await generate(path, Number(mb) * 1e6);
  console.log(`${path}: ${n} records`);
}
