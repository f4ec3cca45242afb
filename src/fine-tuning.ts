/**
 * Fine-tuning facts shared by job creation (which checks hyperparameters before sending) and the local server
 * (which checks them on arrival, as Mistral's API does).
 */

export interface Range {
  integer?: boolean;
  min: number;
  max?: number;
  exclusiveMin?: boolean;
}

/** Mistral's hyperparameter ranges (CompletionTrainingParametersIn); `fim_ratio` is for completion jobs only. */
export const MISTRAL_HYPERPARAMETERS: Record<string, Range> = {
  training_steps: { integer: true, min: 1 },
  learning_rate: { min: 1e-8, max: 1 },
  weight_decay: { min: 0, max: 1 },
  warmup_fraction: { min: 0, max: 1 },
  epochs: { min: 0, exclusiveMin: true },
  seq_len: { integer: true, min: 100 },
  fim_ratio: { min: 0, max: 1 },
};

/** OpenAI's hyperparameters: each `"auto"` or a number in range (`beta` for DPO only). */
export const OPENAI_HYPERPARAMETERS: Record<string, Range> = {
  batch_size: { integer: true, min: 1, max: 256 },
  learning_rate_multiplier: { min: 0, exclusiveMin: true, max: 10 },
  n_epochs: { integer: true, min: 1, max: 50 },
  beta: { min: 0, exclusiveMin: true, max: 2 },
};

/** Why a value is out of its range, or undefined when it is in. */
export function rangeProblem(range: Range, value: unknown): string | undefined {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.exclusiveMin ? value > range.min : value >= range.min) &&
    (range.max === undefined || value <= range.max);
  if (ok) return undefined;
  return `must be ${range.integer ? "an integer" : "a number"} ${range.exclusiveMin ? ">" : "≥"} ${range.min}${range.max !== undefined ? ` and ≤ ${range.max}` : ""}`;
}
