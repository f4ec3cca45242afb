// A benchmark dataset for tokenizers: Mistral chat records whose words are drawn (Zipf-like) from 60,000 made-up
// words, with numbers, punctuation, some accented, CJK and emoji text, and tool calls — so per-word caches miss as
// they would on real text, unlike the 35-word generator. Deterministic; written as a stream.
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { mulberry32 } from "../dist/server/faults.js";

const SYLLABLES = "ka ri to me lo su an ex pre con ter ing ion al ver stra que del zu ber ché ño ü 中 文 語 😀 mo pa ti ne".split(" ");

function lexicon(random, n) {
  const words = [];
  for (let i = 0; i < n; i++) {
    let w = "";
    const k = 1 + Math.floor(random() * 4);
    for (let j = 0; j < k; j++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.push(random() < 0.1 ? w[0].toUpperCase() + w.slice(1) : w);
  }
  return words;
}

function text(random, words, n) {
  let s = "";
  for (let i = 0; i < n; i++) {
    // Zipf-like: small indices far more often.
    const w = words[Math.floor(words.length * Math.pow(random(), 3))];
    s += (i ? " " : "") + w;
    const r = random();
    if (r < 0.08) s += ",";
    else if (r < 0.12) s += ".";
    else if (r < 0.14) s += ` ${Math.floor(random() * 100000)}`;
    else if (r < 0.15) s += "\n\n";
  }
  return s;
}

export async function generateTokenData(path, bytes) {
  const random = mulberry32(11);
  const words = lexicon(random, 60_000);
  const out = createWriteStream(path);
  let written = 0;
  let n = 0;
  while (written < bytes) {
    const messages = [{ role: "system", content: text(random, words, 12) }];
    const turns = 1 + Math.floor(random() * 3);
    for (let t = 0; t < turns; t++) {
      messages.push({ role: "user", content: text(random, words, 20 + Math.floor(random() * 60)) });
      messages.push({ role: "assistant", content: text(random, words, 30 + Math.floor(random() * 120)) });
    }
    const record = { messages };
    if (n % 5 === 0) {
      const id = `call${String(n % 100000).padStart(5, "0")}`;
      messages.splice(messages.length - 1, 0,
        { role: "assistant", tool_calls: [{ id, type: "function", function: { name: "lookup", arguments: JSON.stringify({ q: text(random, words, 3), n: n % 97 }) } }] },
        { role: "tool", tool_call_id: id, content: JSON.stringify({ result: text(random, words, 8) }) });
      record.tools = [{ type: "function", function: { name: "lookup", description: "Look something up", parameters: { type: "object", properties: { q: { type: "string" }, n: { type: "integer" } } } } }];
    }
    const line = `${JSON.stringify(record)}\n`;
    written += Buffer.byteLength(line);
    n++;
    if (!out.write(line)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}
