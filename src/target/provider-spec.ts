import type { FormatFamily, FormatId, ProviderName } from "../types.js";

/**
 * What a provider is, as data: its record formats, the limits of its Files API, what one fine-tuning job takes, and
 * where its API lives. One module per provider (`mistral.ts`, `openai.ts`) and one line in `registry.ts`; the HTTP
 * client that speaks its protocol is registered beside it in `providers/registry.ts`. Nothing here does I/O, so every
 * stage — validation included — can read it.
 */
export interface ProviderSpec {
  readonly name: ProviderName;
  /** The provider's name for people ("Mistral"). */
  readonly label: string;
  /** Its environment variables: `${envPrefix}_API_KEY`, `${envPrefix}_BASE_URL`. */
  readonly envPrefix: string;
  /** The public API's base URL. */
  readonly defaultBaseUrl: string;
  /** Where its routes sit below a server's root URL (the embedded server: `""` for Mistral, `/v1` for OpenAI). */
  readonly apiPath: string;
  /** Its record formats, one per family: `--format auto` chooses among these only. */
  readonly formats: Readonly<Partial<Record<FormatFamily, FormatId>>>;
  /** The format a file gets when detection finds nothing to go on. */
  readonly defaultFormat: FormatId;
  readonly limits: {
    /** One file through the Files API, in bytes. */
    readonly fileBytes: number;
    /** One logical upload (OpenAI: a file sent in parts through its Uploads API), in bytes. */
    readonly uploadBytes: number;
    /** Validation files larger than this get W_VALIDATION_FILE_SIZE (the provider's advice), if it advises one. */
    readonly validationAdviceBytes?: number;
  };
  /** What one fine-tuning job takes: checked when the plan is made, before anything is sent. */
  readonly job: {
    /** Training files per job (`undefined`: any number). */
    readonly trainingFiles?: number;
    /** Validation files per job (`undefined`: any number). */
    readonly validationFiles?: number;
    /** Fewest training records the provider accepts (E_TOO_FEW_EXAMPLES), if it has a minimum. */
    readonly minTrainingExamples?: number;
    /** Source files can carry different weights in one job. */
    readonly weights: boolean;
  };
  /**
   * How to make records that fail this provider's rules pass them, given the error codes they failed with: the
   * second half of the cross-provider hint ("use `--provider openai`, or <this>").
   */
  repairAdvice(codes: readonly string[]): string;
}
