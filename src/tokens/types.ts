/** A text tokenizer: ordinary text in, ids out (no BOS/EOS, special-token look-alikes encoded as text). */
export interface TextTokenizer {
  readonly name: string;
  encode(text: string): number[];
  /** `encode(text).length`, without building the array. */
  count(text: string): number;
}
