/** Small generated chat records for tests: record i is distinct from every other. */
export function chatRecord(i: number, words = 8): string {
  const text = Array.from({ length: words }, (_, k) => `w${(i * 31 + k) % 97}`).join(" ");
  return JSON.stringify({ messages: [{ role: "user", content: `question ${i}: ${text}` }, { role: "assistant", content: `answer ${i}` }] });
}

/** `n` records as JSONL text, each line ended by "\n". */
export function chatLines(n: number, from = 0, words = 8): string {
  let out = "";
  for (let i = from; i < from + n; i++) out += `${chatRecord(i, words)}\n`;
  return out;
}
