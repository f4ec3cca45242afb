import { chatRecord } from "./records.js";

/**
 * A JSONL file's bytes with a bit of everything a merge of byte ranges could get wrong, in a seeded order:
 * valid records (some multi-byte: accents, CJK, emoji), duplicates of earlier ones, blank lines, CRLF endings,
 * broken JSON, non-objects, invalid UTF-8, rule errors and warnings of several codes, tool calls, lines over a
 * small `--max-line-bytes`, a BOM (`bom`), and no final newline (`unterminated`).
 */
export function mixedData(lines: number, options: { seed?: number; bom?: boolean; unterminated?: boolean; longLine?: number } = {}): Buffer {
  let state = options.seed ?? 7;
  const random = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
  const parts: Buffer[] = [];
  const records: string[] = [];
  if (options.bom) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  for (let i = 0; i < lines; i++) {
    const r = random();
    let line: string | Buffer;
    if (r < 0.3 || records.length === 0) line = chatRecord(i);
    else if (r < 0.4) line = JSON.stringify({ messages: [{ role: "user", content: `héllo ${i} 中文 😀` }, { role: "assistant", content: "ça va ✓" }] });
    else if (r < 0.5) line = records[Math.floor(random() * records.length)]!;
    else if (r < 0.55) line = "";
    else if (r < 0.58) line = "   ";
    else if (r < 0.62) line = `{"messages": [{"role": "user", "content": "cut ${i}"`;
    else if (r < 0.65) line = `[${i}]`;
    else if (r < 0.68) line = Buffer.concat([Buffer.from(`{"messages":[{"role":"user","content":"bad `), Buffer.from([0xc3, 0x28]), Buffer.from(`"}]}`)]);
    else if (r < 0.73) line = JSON.stringify({ messages: [{ role: "assistant", content: `first ${i}` }] });
    else if (r < 0.77) line = JSON.stringify({ messages: [{ role: "user", content: "q" }, { role: "assistant", content: "a", weight: 2 }] });
    else if (r < 0.8) line = JSON.stringify({ messages: [{ role: "wizard", content: "q" }, { role: "assistant", content: "a" }] });
    else if (r < 0.85) {
      const id = `c${String(i).padStart(8, "0")}`;
      line = JSON.stringify({
        messages: [
          { role: "user", content: `weather ${i}?` },
          { role: "assistant", tool_calls: [{ id, type: "function", function: { name: "get_weather", arguments: `{"city":"c${i}"}` } }] },
          { role: "tool", tool_call_id: id, content: "{}" },
          { role: "assistant", content: "sunny" },
        ],
      });
    } else if (r < 0.88) line = JSON.stringify({ messages: [{ role: "system", content: "s" }, { role: "user", content: "q" }, { role: "assistant", content: "a" }], extra: "x".repeat(options.longLine ?? 10) });
    else if (r < 0.9) line = JSON.stringify({ text: `pretraining text ${i} ünïcödé` });
    else line = chatRecord(i, 3 + (i % 40));
    if (typeof line === "string" && line.startsWith("{") && !line.includes("cut ")) records.push(line);
    const crlf = random() < 0.15;
    parts.push(typeof line === "string" ? Buffer.from(line, "utf8") : line);
    if (i < lines - 1 || !options.unterminated) parts.push(Buffer.from(crlf ? "\r\n" : "\n"));
  }
  return Buffer.concat(parts);
}
