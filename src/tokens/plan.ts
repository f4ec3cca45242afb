/**
 * The before-the-run estimate of a training split: how many steps and epochs a run makes and how many tokens it
 * processes, the way each trainer counts them. Mistral (mistral-finetune) packs the samples' tokens back to back into
 * `seq_len` sequences and takes `batch_size` sequences a step; OpenAI bills every example's tokens (up to the model's
 * limit, past which it truncates) once per epoch, `batch_size` examples a step.
 */
export interface TrainingSettings {
  seqLen?: number;
  batchSize?: number;
  epochs?: number;
  steps?: number;
}

export interface TrainingEstimate {
  steps: number;
  epochs: number;
  /** Tokens the run processes (Mistral) or bills (OpenAI). */
  tokens: number;
  basis: "mistral-packing" | "openai-billing";
}

/** Mistral: tokens per step = seq_len × batch_size; steps from epochs or epochs from steps. */
export function mistralEstimate(totalTokens: number, settings: TrainingSettings): TrainingEstimate | undefined {
  const { seqLen, batchSize } = settings;
  if (seqLen === undefined || batchSize === undefined || totalTokens === 0) return undefined;
  const perStep = seqLen * batchSize;
  if (settings.steps !== undefined) return { steps: settings.steps, epochs: (settings.steps * perStep) / totalTokens, tokens: settings.steps * perStep, basis: "mistral-packing" };
  const epochs = settings.epochs ?? 1;
  const steps = Math.ceil((epochs * totalTokens) / perStep);
  return { steps, epochs, tokens: steps * perStep, basis: "mistral-packing" };
}

/** OpenAI: billable tokens × epochs; steps = ceil(records ÷ batch size) × epochs. */
export function openaiEstimate(records: number, billableTokens: number, settings: TrainingSettings): TrainingEstimate | undefined {
  if (records === 0) return undefined;
  const batch = settings.batchSize ?? 1;
  const perEpoch = Math.ceil(records / batch);
  if (settings.steps !== undefined) {
    const epochs = settings.steps / perEpoch;
    return { steps: settings.steps, epochs, tokens: Math.round(billableTokens * epochs), basis: "openai-billing" };
  }
  const epochs = settings.epochs ?? 1;
  return { steps: perEpoch * epochs, epochs, tokens: billableTokens * epochs, basis: "openai-billing" };
}
