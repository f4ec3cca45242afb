/**
 * Byte-pair merging, shared by the tiktoken-style encoders (o200k, cl100k, Tekken: symbols are bytes, written as a
 * latin1 string) and the SentencePiece encoder (symbols are characters). The vocabulary table gives the merge
 * priority of a candidate symbol (lower merges first) or `NO_RANK` when the joined symbol is not in the vocabulary,
 * looked up by its range of the word (no substring is made); ties go to the leftmost pair, as in both reference
 * implementations. Short words use the reference's quadratic scan; long ones a
 * heap, so one huge word costs n·log n, not n².
 */

import { NO_RANK, type VocabTable } from "./vocab-table.js";

/** Words longer than this many symbols are merged with the heap. */
const LINEAR_LIMIT = 64;

/**
 * Merges `text`, cut at `starts` (ascending symbol start offsets, the first 0), and returns the start offsets of the
 * final symbols (the array is reused and shortened in place).
 */
export function mergeSymbols(text: string, starts: number[], vocab: VocabTable): number[] {
  if (starts.length < 2) return starts;
  return starts.length <= LINEAR_LIMIT ? mergeLinear(text, starts, vocab) : mergeHeap(text, starts, vocab);
}

/** The rank of symbols i and i+1 joined. */
function pairRank(text: string, starts: number[], i: number, vocab: VocabTable): number {
  const stop = i + 2 < starts.length ? starts[i + 2]! : text.length;
  return vocab.rank(text, starts[i]!, stop);
}

/** Reused by every linear merge (they never nest), so a merge allocates nothing. */
const linearRanks: number[] = [];

function mergeLinear(text: string, starts: number[], vocab: VocabTable): number[] {
  // ranks[i]: rank of symbols i and i+1 joined.
  const ranks = linearRanks;
  ranks.length = 0;
  for (let i = 0; i + 1 < starts.length; i++) ranks.push(pairRank(text, starts, i, vocab));
  while (ranks.length > 0) {
    let best = NO_RANK;
    let at = -1;
    for (let i = 0; i < ranks.length; i++) {
      if (ranks[i]! < best) {
        best = ranks[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    starts.splice(at + 1, 1);
    ranks.splice(at, 1);
    if (at < ranks.length) ranks[at] = pairRank(text, starts, at, vocab);
    if (at > 0) ranks[at - 1] = pairRank(text, starts, at - 1, vocab);
  }
  return starts;
}

/**
 * Merges the bytes `bytes[0, length)` of a tiktoken-style piece (each byte a symbol at first) by the ranks of the
 * byte strings in `vocab`, as `mergeLinear` merges a string's symbols, but over typed arrays: no substring, no
 * array splice, nothing allocated. The final symbols' starts are left in `starts[0, count)` and `starts[count]` is
 * `length`; returns `count`. `starts` needs room for `length + 1` entries, `ranks` for `length`. Meant for short
 * pieces (the cost grows with the square of the length): `mergeSymbols` takes long ones.
 */
export function mergeBytes(bytes: Uint8Array, length: number, vocab: VocabTable, starts: Int32Array, ranks: Int32Array): number {
  let n = length;
  for (let i = 0; i <= n; i++) starts[i] = i;
  // ranks[i]: rank of symbols i and i+1 joined (NONE when not a symbol).
  for (let i = 0; i + 1 < n; i++) ranks[i] = rankOrNone(vocab.rankOfBytes(bytes, i, i + 2));
  while (n > 1) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i + 1 < n; i++) {
      if (ranks[i]! < best) {
        best = ranks[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    // Symbol at + 1 joins symbol at: its start goes, and so does the rank of the pair it began.
    for (let i = at + 1; i < n; i++) starts[i] = starts[i + 1]!;
    for (let i = at + 1; i + 2 < n; i++) ranks[i] = ranks[i + 1]!;
    n--;
    if (at + 1 < n) ranks[at] = rankOrNone(vocab.rankOfBytes(bytes, starts[at]!, starts[at + 2]!));
    if (at > 0) ranks[at - 1] = rankOrNone(vocab.rankOfBytes(bytes, starts[at - 1]!, starts[at + 1]!));
  }
  return n;
}

/** Above every rank: a pair that is not a symbol. */
const NONE = 0x7fffffff;

function rankOrNone(rank: number): number {
  return rank < 0 ? NONE : rank;
}

/** A min-heap of (rank, left symbol start) candidates; stale entries are skipped when popped. */
function mergeHeap(text: string, starts: number[], vocab: VocabTable): number[] {
  const n = starts.length;
  const end = text.length;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const startOf = (i: number): number => starts[i]!;
  const stopOf = (i: number): number => (next[i]! >= 0 ? startOf(next[i]!) : end);
  // Heap entries: [rank, symbol index, the right neighbour's stop when pushed (to detect staleness)].
  const heap: [number, number, number][] = [];
  const less = (a: [number, number, number], b: [number, number, number]): boolean => a[0] < b[0] || (a[0] === b[0] && startOf(a[1]) < startOf(b[1]));
  const push = (entry: [number, number, number]): void => {
    heap.push(entry);
    let k = heap.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!less(heap[k]!, heap[p]!)) break;
      [heap[k], heap[p]] = [heap[p]!, heap[k]!];
      k = p;
    }
  };
  const pop = (): [number, number, number] | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === k) break;
        [heap[k], heap[m]] = [heap[m]!, heap[k]!];
        k = m;
      }
    }
    return top;
  };
  const candidate = (i: number): void => {
    const j = next[i]!;
    if (j < 0) return;
    const stop = stopOf(j);
    const rank = vocab.rank(text, startOf(i), stop);
    if (rank !== NO_RANK) push([rank, i, stop]);
  };
  for (let i = 0; i + 1 < n; i++) candidate(i);
  for (let entry = pop(); entry; entry = pop()) {
    const [, i, stop] = entry;
    const j = next[i]!;
    if (!alive[i] || j < 0 || stopOf(j) !== stop) continue;
    // Join j into i.
    alive[j] = 0;
    next[i] = next[j]!;
    if (next[j]! >= 0) prev[next[j]!] = i;
    candidate(i);
    if (prev[i]! >= 0) candidate(prev[i]!);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) out.push(starts[i]!);
  return out;
}
