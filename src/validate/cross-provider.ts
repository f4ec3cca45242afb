import type { TargetSpec } from "../target/target-spec.js";
import { allProviders, describeFormat, familyOf } from "../target/registry.js";
import type { FormatId, ProviderName } from "../types.js";
import { ISSUE_CODES } from "./codes.js";
import { Findings, type IssueDraft } from "./findings.js";
import { checkRecord, guessRecordFamily } from "./record.js";
import type { SchemaRegistry } from "./schema-registry.js";
import { emptyStats } from "./stats.js";

/**
 * The cross-provider hint: records that fail the target's rules are checked again against every other provider's
 * format of the same family, so a file of valid OpenAI chat validated for Mistral says so ("use `--provider
 * openai`, or repair the ids") instead of listing errors only. Only failing records are re-checked, and at most
 * `HINT_RECHECK_LIMIT` of them per file: a clean file costs nothing, a wholly foreign one at most that many passes.
 */

/** Failing records re-checked per file, at the most. */
export const HINT_RECHECK_LIMIT = 10_000;

/** Records that fail the target but pass another provider's format: the hint, as data (`--json`: `hints`). */
export interface ProviderHint {
  /** The other provider, under whose rules the records pass. */
  provider: ProviderName;
  /** Its format they pass. */
  format: FormatId;
  /** Invalid records that pass it. */
  records: number;
  /** Invalid records in the file. */
  invalid: number;
  /** Invalid records re-checked (all of them, unless more than HINT_RECHECK_LIMIT). */
  checked: number;
  /** The target's error codes those records fail with. */
  codes: string[];
  /** The hint in one line, with what to do. */
  message: string;
}

interface Tally {
  format: FormatId;
  records: number;
  codes: Set<string>;
}

/**
 * What a byte range's check found, as plain data: how many failing records it re-checked, and for each that another
 * provider takes, its index among them with that provider, format and the target's error codes it failed with.
 */
export interface CrossSnapshot {
  checked: number;
  passes: [index: number, provider: ProviderName, format: FormatId, codes: string[]][];
}

/** Accumulates, over one file, which failing records another provider would take. */
export class CrossProviderCheck {
  private checked = 0;
  /** Kept only where a range's findings travel to a merge (`record` on). */
  private readonly passes: CrossSnapshot["passes"] | undefined;
  private readonly tallies = new Map<ProviderName, Tally>();
  private readonly others;

  constructor(
    private readonly target: TargetSpec,
    private readonly fileFormat: FormatId,
    private readonly schemas: SchemaRegistry,
    private readonly limit = HINT_RECHECK_LIMIT,
    record = false,
  ) {
    this.others = allProviders().filter((p) => p !== target.provider);
    this.passes = record ? [] : undefined;
  }

  /** A record that failed the target's rules, with the issues it failed with. */
  check(record: Record<string, unknown>, issues: readonly IssueDraft[]): void {
    if (this.checked >= this.limit || this.others.length === 0) return;
    this.checked++;
    const family = guessRecordFamily(record) ?? familyOf(this.fileFormat);
    for (const provider of this.others) {
      const format = provider.formats[family];
      if (format === undefined) continue;
      const findings = new Findings();
      checkRecord(record, format, findings, emptyStats(), this.schemas);
      if (findings.errors > 0) continue;
      const codes = issues.filter((issue) => ISSUE_CODES[issue.code].severity === "error").map((issue) => issue.code);
      this.passes?.push([this.checked - 1, provider.name, format, codes]);
      this.tally(provider.name, format, codes);
    }
  }

  private tally(provider: ProviderName, format: FormatId, codes: readonly string[]): void {
    let tally = this.tallies.get(provider);
    if (!tally) this.tallies.set(provider, (tally = { format, records: 0, codes: new Set() }));
    tally.records++;
    for (const code of codes) tally.codes.add(code);
  }

  snapshot(): CrossSnapshot {
    return { checked: this.checked, passes: this.passes ?? [] };
  }

  /**
   * Adds what the check of the byte range that follows found: its re-checked records count while this file has
   * re-checked fewer than the limit, as if one check had gone through both.
   */
  absorb(part: CrossSnapshot): void {
    const room = Math.max(0, this.limit - this.checked);
    for (const [index, provider, format, codes] of part.passes) if (index < room) this.tally(provider, format, codes);
    this.checked += Math.min(room, part.checked);
  }

  /** The hints for a file with `invalid` invalid records: one per provider that would take some of them. */
  hints(invalid: number): ProviderHint[] {
    const out: ProviderHint[] = [];
    for (const [provider, tally] of this.tallies) {
      const codes = [...tally.codes].sort();
      const n = tally.records;
      const which = n === invalid ? (n === 1 ? "the invalid record is" : `all ${n} invalid records are`) : `${n} of the ${invalid} invalid records ${n === 1 ? "is" : "are"}`;
      const partial = this.checked < invalid ? ` (of the first ${this.checked} re-checked)` : "";
      const message = `${which} valid ${describeFormat(tally.format)}${partial}: use \`--provider ${provider}\`, or ${this.target.provider.repairAdvice(codes)}`;
      out.push({ provider, format: tally.format, records: n, invalid, checked: this.checked, codes, message });
    }
    return out;
  }
}
