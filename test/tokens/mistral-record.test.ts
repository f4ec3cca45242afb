import { describe, expect, it } from "vitest";
import { encodeMistralRecord, SENTENCEPIECE_SPECIALS, TEKKEN_SPECIALS } from "../../src/tokens/mistral-record.js";
import { loadTokenizer } from "../../src/tokens/vocabularies.js";

/*
 * Expected values: mistral-finetune's own finetune/data/tokenize.py (`encode(record, instruct_tokenizer,
 * SampleType.INSTRUCT)`: tokens = len(sample.tokens), trainable = sum(sample.masks)) over mistral-common v1.5.4's
 * source with MistralTokenizer.v3(is_tekken=True|False).instruct_tokenizer, run outside this repository on Python 3.11
 * with Debian's python3-sentencepiece 0.1.97; Tekken's tiktoken core stood in by tiktoken's own pure-Python BPE
 * (tiktoken/_educational.py). Golden ids are quoted from mistral-common's tests where they say so.
 */

// [record, [tekken tokens, tekken trainable, sentencepiece-v3 tokens, sentencepiece-v3 trainable]]
const RECORDS: [string, number[]][] = [
  // plain chat
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"},{\"role\":\"assistant\",\"content\":\"Hi there!\"}]}", [8, 4, 8, 4]],
  // system message; trailing spaces of the assistant stripped
  ["{\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":\"user\",\"content\":\"What is 2+2?\"},{\"role\":\"assistant\",\"content\":\"4\"},{\"role\":\"user\",\"content\":\"And 3+3?\"},{\"role\":\"assistant\",\"content\":\"6   \"}]}", [26, 4, 31, 6]],
  // top-level system_prompt; accents, emoji, CJK; tab and newline kept
  ["{\"system_prompt\":\"R\u00e9ponds en fran\u00e7ais.\",\"messages\":[{\"role\":\"user\",\"content\":\"Bonjour, \u00e7a va ? \ud83d\ude00\ud83d\udc4d\ud83c\udffd\"},{\"role\":\"assistant\",\"content\":\"Tr\u00e8s bien, merci ! \u65e5\u672c\u8a9e\u3082\u3067\u304d\u307e\u3059\u3002\\t\\n\"}]}", [41, 15, 42, 20]],
  // control-token look-alikes as text; weight 0; an assistant of spaces only
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"[INST] </s> <|endoftext|> <s> look-alikes\"},{\"role\":\"assistant\",\"content\":\"They are text: [/INST] [TOOL_CALLS]\",\"weight\":0},{\"role\":\"user\",\"content\":\"  leading spaces and\\ttabs\"},{\"role\":\"assistant\",\"content\":\"   \"}]}", [48, 1, 48, 1]],
  // tools, a tool call whose arguments hold 10.0, a big integer, 1e3, -0.0, NaN, \u00e9; a JSON tool result; parameters with a key "2" and floats
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"What's the weather in Paris?\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"abc123XYZ\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"unit\\\":\\\"celsius\\\",\\\"days\\\":10.0,\\\"big\\\":12345678901234567890,\\\"exp\\\":1e3,\\\"neg\\\":-0.0,\\\"nan\\\":NaN,\\\"accent\\\":\\\"\\\\u00e9t\\u00e9\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"abc123XYZ\",\"content\":\"{\\\"temperature\\\": 22, \\\"ok\\\":true}\"},{\"role\":\"assistant\",\"content\":\"It is 22 \u00b0C in Paris.\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Get the weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]},\"days\":{\"type\":\"number\",\"default\":1.0,\"maximum\":1e2},\"2\":{\"type\":\"integer\"}},\"required\":[\"city\"]},\"extra\":\"dropped\"}}]}", [268, 11, 280, 11]],
  // system prompt on the last user turn; a non-JSON tool result; call ids; the last call's id dropped
  ["{\"messages\":[{\"role\":\"system\",\"content\":\"Use tools.\"},{\"role\":\"user\",\"content\":\"Look up order 42\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"Q1w2E3r4T\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"order\\\": 42}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"Q1w2E3r4T\",\"content\":\"not json at all\"},{\"role\":\"assistant\",\"content\":\"Order 42 shipped.\"},{\"role\":\"user\",\"content\":\"Thanks, and order 7?\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"Zz9Yy8Xx7\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"order\\\":7}\"}}]}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"description\":\"Find an order\",\"parameters\":{\"type\":\"object\",\"properties\":{\"order\":{\"type\":\"integer\"}}}}}]}", [156, 19, 160, 19]],
  // tools: only the last assistant message trains, and it has weight 0
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"Call nothing\"},{\"role\":\"assistant\",\"content\":\"Fine.\",\"weight\":1},{\"role\":\"user\",\"content\":\"Again\"},{\"role\":\"assistant\",\"content\":\"Done.\",\"weight\":0}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"noop\",\"description\":\"\",\"parameters\":{}}}]}", [42, 0, 44, 0]],
  // available_tools: [] sets only_last
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":\"d\"}],\"available_tools\":[]}", [11, 2, 11, 2]],
  // tools: [] does not
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":\"d\"}],\"tools\":[]}", [11, 4, 11, 4]],
  // only_last: true
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":\"d\"}],\"only_last\":true}", [11, 2, 11, 2]],
  // interactions and text keys
  ["{\"interactions\":[{\"role\":\"user\",\"text\":\"Using the text key\"},{\"role\":\"assistant\",\"text\":\"And interactions.\"}]}", [11, 4, 11, 4]],
  // text chunks, the system prompt before the first
  ["{\"system_prompt\":\"System goes first.\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"chunk one\"},{\"type\":\"text\",\"text\":\" chunk two\"}]},{\"role\":\"assistant\",\"content\":\"Two chunks.\"}]}", [15, 4, 18, 4]],
  // parallel calls, tool results 1.5 and []
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"aaaaaaaa1\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{}\"}},{\"id\":\"bbbbbbbb2\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"x\\\": [1, 2.5, \\\"y\\\"]}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"aaaaaaaa1\",\"content\":\"1.5\"},{\"role\":\"tool\",\"tool_call_id\":\"bbbbbbbb2\",\"content\":\"[]\"},{\"role\":\"assistant\",\"content\":\"Both done.\"}]}", [105, 62, 102, 59]],
  // multilingual, CR LF, runs of spaces, U+0085, U+FEFF
  ["{\"messages\":[{\"role\":\"user\",\"content\":\"\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac, \u0627\u0644\u0639\u0631\u0628\u064a\u0629, \ud55c\uad6d\uc5b4, \u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u2014 mixed\\r\\nlines\\n\\n\\nand    runs\"},{\"role\":\"assistant\",\"content\":\"ok\\u0085x\\ufeffy\\u00a0z\\u2028 \ud835\udd18\ud835\udd2b\ud835\udd26\ud835\udd20\ud835\udd2c\ud835\udd21\ud835\udd22\"}]}", [63, 41, 78, 40]],
];

describe("Mistral records counted as mistral-finetune trains on them", async () => {
  const tekken = { tokenizer: await loadTokenizer("tekken-240718"), specials: TEKKEN_SPECIALS, version: 3 as const };
  const sp3 = { tokenizer: await loadTokenizer("mistral-sp-v3"), specials: SENTENCEPIECE_SPECIALS, version: 3 as const };

  RECORDS.forEach(([line, [tekkenTokens, tekkenTrainable, spTokens, spTrainable]], k) => {
    it(`record ${k + 1}: ${tekkenTokens}/${tekkenTrainable} (Tekken), ${spTokens}/${spTrainable} (SentencePiece v3)`, () => {
      const record = JSON.parse(line) as Record<string, unknown>;
      const a = encodeMistralRecord(record, tekken, line);
      expect([a.ids.length, a.trainable]).toEqual([tekkenTokens, tekkenTrainable]);
      const b = encodeMistralRecord(record, sp3, line);
      expect([b.ids.length, b.trainable]).toEqual([spTokens, spTrainable]);
    });
  });

  it("exact ids of small records (reference run above)", () => {
    const plain = JSON.parse(RECORDS[0]![0]) as Record<string, unknown>;
    expect(encodeMistralRecord(plain, tekken).ids).toEqual([1, 3, 22177, 4, 37133, 2156, 1033, 2]);
    expect(encodeMistralRecord(plain, sp3).ids).toEqual([1, 3, 23325, 4, 16127, 1504, 29576, 2]);
    const tool = JSON.parse(RECORDS[6]![0]) as Record<string, unknown>;
    expect(encodeMistralRecord(tool, tekken).ids).toEqual([1, 3, 9570, 7545, 4, 94506, 1046, 2, 5, 1091, 19227, 4994, 2811, 1429, 5165, 1897, 1429, 5165, 2811, 16753, 2391, 2811, 1429, 96578, 1897, 1429, 14653, 2811, 27645, 1429, 26204, 2811, 1445, 2821, 27028, 6, 3, 50975, 4, 42617, 1046, 2]);
  });

  it("tools re-read from the record's text keep Python's numbers and key order (JSON.parse alone would not)", () => {
    const [line, [tekkenTokens]] = RECORDS[4]!;
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(encodeMistralRecord(record, tekken, line).ids).toHaveLength(tekkenTokens!);
    // Without the text, "2" moves first and 1.0 / 1e2 lose their decimal point: a different count.
    expect(encodeMistralRecord(record, tekken).ids.length).not.toBe(tekkenTokens);
  });

  it("golden ids of mistral-common's tests/test_tokenize_v3.py::test_continue_final_message, plus the EOS training adds", () => {
    const record = { system_prompt: "SYSTEM", messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }, { role: "assistant", content: "d" }] };
    expect(encodeMistralRecord(record, tekken).ids).toEqual([1, 3, 1097, 4, 1098, 2, 3, 101289, 58343, 1267, 1099, 4, 1100, 2]);
    expect(encodeMistralRecord(record, sp3).ids).toEqual([1, 3, 1032, 4, 1055, 2, 3, 17889, 23294, 781, 781, 29485, 4, 1049, 2]);
  });

  describe("golden ids of mistral-common v1.5.4 tests/data/samples/no_tools/tokens_v{1,2,3}.json", () => {
    // The sample ends with a user turn ("Thanks"); the training sample of the six messages before it is the golden
    // sequence without that last [INST] Thanks [/INST].
    const messages = [
      { role: "user", content: "What's the result of 5 + 5?" },
      { role: "assistant", content: "The result of 5 + 5 is 10." },
      { role: "user", content: "What is the square root of 64?" },
      { role: "assistant", content: "The square root of 64 is 8, because 8 x 8 equals 64." },
      { role: "user", content: "Can you multiply the results of the previous two questions?" },
      { role: "assistant", content: "Sure! The result of 10 x 8 is 80." },
    ];
    const v1 = [1, 733, 16289, 28793, 1824, 28742, 28713, 272, 1204, 302, 28705, 28782, 648, 28705, 28782, 28804, 733, 28748, 16289, 28793, 415, 1204, 302, 28705, 28782, 648, 28705, 28782, 349, 28705, 28740, 28734, 28723, 2, 733, 16289, 28793, 1824, 349, 272, 7930, 5557, 302, 28705, 28784, 28781, 28804, 733, 28748, 16289, 28793, 415, 7930, 5557, 302, 28705, 28784, 28781, 349, 28705, 28783, 28725, 1096, 28705, 28783, 1318, 28705, 28783, 21588, 28705, 28784, 28781, 28723, 2, 733, 16289, 28793, 2418, 368, 17669, 346, 272, 2903, 302, 272, 3454, 989, 4224, 28804, 733, 28748, 16289, 28793, 12875, 28808, 415, 1204, 302, 28705, 28740, 28734, 1318, 28705, 28783, 349, 28705, 28783, 28734, 28723, 2, 733, 16289, 28793, 8868, 733, 28748, 16289, 28793];
    const v23 = [1, 3, 2592, 29510, 29481, 1040, 1972, 1070, 29473, 29550, 1416, 29473, 29550, 29572, 4, 1183, 1972, 1070, 29473, 29550, 1416, 29473, 29550, 1117, 29473, 29508, 29502, 29491, 2, 3, 2592, 1117, 1040, 8698, 6325, 1070, 29473, 29552, 29549, 29572, 4, 1183, 8698, 6325, 1070, 29473, 29552, 29549, 1117, 29473, 29551, 29493, 1864, 29473, 29551, 2086, 29473, 29551, 22356, 29473, 29552, 29549, 29491, 2, 3, 3186, 1136, 18437, 1114, 1040, 3671, 1070, 1040, 4222, 1757, 4992, 29572, 4, 13643, 29576, 1183, 1972, 1070, 29473, 29508, 29502, 2086, 29473, 29551, 1117, 29473, 29551, 29502, 29491, 2, 3, 9636, 4];
    it("v1 (the [INST] text format)", async () => {
      const enc = { tokenizer: await loadTokenizer("mistral-sp-v1"), specials: SENTENCEPIECE_SPECIALS, version: 1 as const };
      expect(encodeMistralRecord({ messages }, enc).ids).toEqual(v1.slice(0, -8));
    });
    it("v2 and v3 (control tokens)", async () => {
      for (const [id, version] of [["mistral-sp-v2", 2], ["mistral-sp-v3", 3]] as const) {
        const enc = { tokenizer: await loadTokenizer(id), specials: SENTENCEPIECE_SPECIALS, version };
        expect(encodeMistralRecord({ messages }, enc).ids).toEqual(v23.slice(0, -3));
      }
    });
  });
});

describe("SentencePiece v2's tool layout (mistral-common's InstructTokenizerV2), as mistral-finetune's tokenize.py encodes it", async () => {
  // Expected: mistral-finetune's finetune/data/tokenize.py `encode(record, MistralTokenizer.v2().instruct_tokenizer,
  // SampleType.INSTRUCT)` over mistral-common v1.5.4's source and model file mistral_instruct_tokenizer_240216.model.v2,
  // run outside this repository (Python 3.11, python3-sentencepiece 0.1.97). V2 differs from V3: tool results are
  // `[{"name": …, "content": …}]` (a list, no call id) and dropped before the last user turn; tool calls carry no id.
  const v2 = { tokenizer: await loadTokenizer("mistral-sp-v2"), specials: SENTENCEPIECE_SPECIALS, version: 2 as const };
  // [record, [tokens, trainable]]
  const V2_RECORDS: [string, [number, number]][] = [
    ["{\"messages\":[{\"role\":\"user\",\"content\":\"Look up order 42\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"Q1w2E3r4T\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"order\\\": 42}\"}}]},{\"role\":\"tool\",\"name\":\"lookup\",\"tool_call_id\":\"Q1w2E3r4T\",\"content\":\"{\\\"status\\\": \\\"shipped\\\"}\"},{\"role\":\"assistant\",\"content\":\"Order 42 shipped.\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"description\":\"Find an order\",\"parameters\":{\"type\":\"object\",\"properties\":{\"order\":{\"type\":\"integer\"}}}}}]}", [107, 7]],
    ["{\"messages\":[{\"role\":\"system\",\"content\":\"Use tools.\"},{\"role\":\"user\",\"content\":\"Look up order 42\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"Q1w2E3r4T\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"order\\\": 42}\"}}]},{\"role\":\"tool\",\"name\":\"lookup\",\"tool_call_id\":\"Q1w2E3r4T\",\"content\":\"not json at all\"},{\"role\":\"assistant\",\"content\":\"Order 42 shipped.\"},{\"role\":\"user\",\"content\":\"Thanks, and order 7?\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"Zz9Yy8Xx7\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"order\\\":7}\"}}]}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"description\":\"Find an order\",\"parameters\":{\"type\":\"object\",\"properties\":{\"order\":{\"type\":\"integer\"}}}}}]}", [119, 19]],
    ["{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"aaaaaaaa1\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{}\"}},{\"id\":\"bbbbbbbb2\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"x\\\": [1, 2.5, \\\"y\\\"]}\"}}]},{\"role\":\"tool\",\"name\":\"w\",\"tool_call_id\":\"aaaaaaaa1\",\"content\":\"1.5\"},{\"role\":\"tool\",\"tool_call_id\":\"bbbbbbbb2\",\"content\":\"[]\"},{\"role\":\"assistant\",\"content\":\"Both done.\"}]}", [79, 43]],
  ];
  V2_RECORDS.forEach(([line, [tokens, trainable]], k) => {
    it(`record ${k + 1}: ${tokens} tokens, ${trainable} trainable`, () => {
      const sample = encodeMistralRecord(JSON.parse(line) as Record<string, unknown>, v2, line);
      expect([sample.ids.length, sample.trainable]).toEqual([tokens, trainable]);
      expect(sample.tokens).toBe(tokens);
    });
  });

  it("exact ids: [AVAILABLE_TOOLS] (6) … [/AVAILABLE_TOOLS] (7) before [INST], [TOOL_CALLS] (5) without an id, [TOOL_RESULTS] (8) [{name, content}] [/TOOL_RESULTS] (9)", () => {
    const [line] = V2_RECORDS[0]!;
    expect(encodeMistralRecord(JSON.parse(line) as Record<string, unknown>, v2, line).ids).toEqual([1, 6, 1501, 7567, 1891, 2032, 1113, 3396, 1316, 1113, 3396, 2032, 10598, 1629, 2032, 1113, 17403, 1316, 1113, 7286, 2032, 1113, 11547, 1164, 2513, 1316, 1113, 12206, 2032, 10598, 1891, 2032, 1113, 3582, 1316, 1113, 11491, 2032, 10598, 3042, 2032, 10598, 1891, 2032, 1113, 15064, 29507, 1743, 1743, 10925, 7, 3, 7180, 1350, 2513, 29473, 29549, 29518, 4, 5, 1501, 7567, 1629, 2032, 1113, 17403, 1316, 1113, 17452, 2032, 10598, 3042, 2032, 29473, 29549, 29518, 1743, 29561, 2, 8, 1501, 7567, 1629, 2032, 1113, 17403, 1316, 1113, 4557, 2032, 10598, 3605, 2032, 1113, 5528, 2741, 29507, 1743, 29561, 9, 9774, 29473, 29549, 29518, 28402, 29491, 2]);
  });
});
