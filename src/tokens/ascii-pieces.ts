/**
 * The pre-tokeniser's common case without the regular expression: where the text is ASCII around a piece, where
 * the piece of Tekken's or o200k's pattern ends can be read off the characters. It answers only when the answer is
 * certain — every character that decides the end is ASCII — and otherwise says so (-1), and the pattern itself runs.
 *
 * The two patterns (alternatives tried in order):
 *   A1 [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ (o200k: + a contraction)
 *   A2 [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*  (o200k: + a contraction)
 *   A3 \p{N} (Tekken) or \p{N}{1,3} (o200k)
 *   A4  ?[^\s\p{L}\p{N}]+[\r\n/]*
 *   A5–A7 whitespace runs (left to the pattern here, except one space before a digit)
 * On ASCII, A1/A2 match an optional prefix (not CR/LF, letter or digit) then the capitals then the small letters,
 * each run as long as it goes, at least one letter; A4 an optional space, a run of other characters, then CR, LF and
 * "/"; a space before a digit is a piece of its own (A7).
 */

/** Which of the two patterns: Tekken's (one digit a piece) or o200k's (up to three digits, English contractions). */
export type AsciiPattern = "tekken" | "o200k";

const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
/** CR, LF. */
const NEWLINE = 4;
/** Space, tab, VT, FF: whitespace that may prefix a word. */
const BLANK = 5;
/** Everything else in ASCII (punctuation, symbols, other control characters): not \s, \p{L} or \p{N}. */
const OTHER = 6;

const CLASS = new Uint8Array(128).fill(OTHER);
for (let c = 0x61; c <= 0x7a; c++) CLASS[c] = LOWER;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = UPPER;
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = DIGIT;
CLASS[0x0a] = NEWLINE;
CLASS[0x0d] = NEWLINE;
for (const c of [0x20, 0x09, 0x0b, 0x0c]) CLASS[c] = BLANK;

/** The class of the character at `i` (0 past the end, -1 for a non-ASCII character). */
function classAt(text: string, i: number): number {
  if (i >= text.length) return 0;
  const c = text.charCodeAt(i);
  return c < 0x80 ? CLASS[c]! : -1;
}

/** o200k's contractions after a word: 's 't 'm 'd 're 've 'll in any case; the end after it, or `at`. */
function contraction(text: string, at: number): number {
  if (text.charCodeAt(at) !== 0x27) return at;
  const a = text.charCodeAt(at + 1) | 0x20;
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return at + 2;
  const b = text.charCodeAt(at + 2) | 0x20;
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return at + 3;
  return at;
}

/** The end of the piece that starts at `start`, or -1 when it takes the pattern to know. */
export function asciiPieceEnd(text: string, start: number, pattern: AsciiPattern): number {
  const first = classAt(text, start);
  if (first <= 0) return -1;
  let letters = start;
  if (first === BLANK || first === OTHER) {
    const next = classAt(text, start + 1);
    if (next === LOWER || next === UPPER) letters = start + 1;
    else if (next === -1) return -1;
    else if (first === BLANK) {
      // A space before a digit is a piece (A7); before other characters, A4's optional space.
      if (next === DIGIT) return text.charCodeAt(start) === 0x20 ? start + 1 : -1;
      if (next !== OTHER || text.charCodeAt(start) !== 0x20) return -1;
      return otherRun(text, start + 1);
    } else return otherRun(text, start);
  } else if (first === DIGIT) {
    if (pattern === "tekken") return start + 1;
    let end = start + 1;
    while (end < start + 3 && classAt(text, end) === DIGIT) end++;
    // A fourth character that is not ASCII might be a digit of another script.
    if (end < start + 3 && classAt(text, end) === -1) return -1;
    return end;
  } else if (first === NEWLINE) return -1;
  // Capitals, then small letters.
  let end = letters;
  while (classAt(text, end) === UPPER) end++;
  while (classAt(text, end) === LOWER) end++;
  if (classAt(text, end) === -1) return -1;
  return pattern === "o200k" ? contraction(text, end) : end;
}

/** A4 from `from` (at an OTHER character): the run of them, then CR, LF and "/"; -1 if a non-ASCII one decides. */
function otherRun(text: string, from: number): number {
  let end = from;
  let cls = classAt(text, end);
  while (cls === OTHER) cls = classAt(text, ++end);
  if (cls === -1) return -1;
  for (let c = text.charCodeAt(end); c === 0x0d || c === 0x0a || c === 0x2f; c = text.charCodeAt(++end));
  return end;
}

/** The two patterns as their vocabularies' packages spell them (tiktoken syntax). */
const TEKKEN_PATTERN =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const CONTRACTIONS = "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)?";
const O200K_PATTERN = `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTIONS}|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

/** Which fast path a pattern has: only these two exact patterns have one. */
export function asciiPatternOf(pattern: string): AsciiPattern | undefined {
  if (pattern === TEKKEN_PATTERN) return "tekken";
  if (pattern === O200K_PATTERN) return "o200k";
  return undefined;
}
