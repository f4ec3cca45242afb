import type { Figures } from "../validate/figures.js";
import { mergeFigures } from "../validate/figures.js";
import type { HistogramJson } from "../validate/histogram.js";
import { PROVIDERS } from "../target/registry.js";

/**
 * What a report shows, read from a `--json` document of `validate`, `prepare`, `upload`/`run`, or a manifest. The
 * document is untrusted (a file someone attached): every field is checked for its type here, and anything else is
 * left out, so the renderer only ever sees numbers where it expects numbers and strings where it expects strings.
 * Keys are read in snake_case, and in the camelCase of earlier versions where the two differ.
 */

export type ReportKind = "validate" | "prepare" | "run" | "manifest";

export interface Snippet {
  text: string;
  start: number;
  end: number;
}

export interface IssueExample {
  file: string;
  line: number;
  code: string;
  severity: string;
  path: string;
  message: string;
  snippet: Snippet | null;
}

export interface TokenSummary {
  method: string;
  tokenizer: string | null;
  records: number | null;
  total: number;
  trainable: number | null;
  p50: number | null;
  p95: number | null;
  max: number | null;
  training: { steps: number; epochs: number; tokens: number; basis: string } | null;
}

export interface FileRow {
  path: string;
  split: string | null;
  format: string | null;
  records: number;
  valid: number;
  invalid: number;
  bytes: number | null;
  errors: number;
  warnings: number;
  tokens: TokenSummary | null;
  /** prepare / run: ready, invalid, refused, too-large; and why. */
  status: string | null;
  reason: string | null;
  counts: Record<string, number>;
  examples: IssueExample[];
  figures: Figures | null;
}

export interface SplitView {
  name: string;
  files: number;
  records: number;
  figures: Figures | null;
  tokens: TokenSummary | null;
}

export interface PlannedRow {
  path: string;
  split: string;
  kind: string;
  part: number;
  parts: number;
  records: number | null;
  bytes: number;
  sha256: string;
}

export interface UploadRow {
  path: string;
  split: string | null;
  bytes: number | null;
  id: string | null;
  status: string;
  retries: number | null;
  error: string | null;
}

export interface ReportModel {
  kind: ReportKind;
  provider: string | null;
  ok: boolean | null;
  files: FileRow[];
  splits: SplitView[];
  /** Issues of the plan itself (size guard, per-job rules). */
  planIssues: IssueExample[];
  plan: { maxFileBytes: number | null; providerLimit: number | null; files: PlannedRow[]; notes: string[] } | null;
  upload: {
    baseUrl: string | null;
    embedded: boolean | null;
    manifest: string | null;
    dryRun: boolean;
    summary: { uploaded: number; adopted: number; skipped: number; duplicates: number; failed: number; retries: number; aborted: boolean } | null;
    files: UploadRow[];
  } | null;
  jobs: { id: string | null; status: string | null; model: string | null; fineTunedModel: string | null; error: string | null }[];
  skipped: { path: string; reason: string }[];
  failures: { path: string; message: string }[];
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}
function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
function n(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
function n0(value: unknown): number {
  return n(value) ?? 0;
}
/** A field by its snake_case name, or its camelCase one. */
function field(o: Obj | undefined, snake: string, camel?: string): unknown {
  if (!o) return undefined;
  if (Object.hasOwn(o, snake)) return o[snake];
  return camel !== undefined && Object.hasOwn(o, camel) ? o[camel] : undefined;
}
/** A map of counts, with a prototype-free object so a key named `__proto__` is just a key. */
function counts(value: unknown): Record<string, number> {
  const out = Object.create(null) as Record<string, number>;
  for (const [k, v] of Object.entries(obj(value) ?? {})) if (n(v) !== null) out[k] = v as number;
  return out;
}

function histogram(value: unknown): HistogramJson {
  const o = obj(value);
  const scale = o?.scale === "share" ? "share" : "log";
  const buckets: HistogramJson["buckets"] = [];
  for (const b of arr(o?.buckets)) {
    const bo = obj(b);
    const from = n(bo?.from);
    const to = n(bo?.to);
    const count = n(bo?.count);
    if (from !== null && to !== null && count !== null && count >= 0 && to > from) buckets.push({ from, to, count });
  }
  return { scale, buckets };
}

/** Figures read back, every field checked. */
export function figuresOf(value: unknown): Figures | null {
  const o = obj(value);
  if (!o) return null;
  const tokens = obj(o.tokens);
  const share = obj(o.trainable_share);
  const tools = obj(o.tools);
  const dup = obj(o.duplicates);
  return {
    records: n0(o.records),
    tokens: {
      method: str(tokens?.method) ?? "estimate",
      tokenizer: str(tokens?.tokenizer),
      total: n0(tokens?.total),
      limit: n(tokens?.limit),
      over_limit: n(tokens?.over_limit),
      seq_len: n(tokens?.seq_len),
      per_record: histogram(tokens?.per_record),
    },
    trainable_share: { method: str(share?.method) ?? "estimate", per_record: histogram(share?.per_record) },
    messages: histogram(o.messages),
    turns: histogram(o.turns),
    roles: counts(o.roles),
    tools: {
      records_with_tools: n0(tools?.records_with_tools),
      records_with_calls: n0(tools?.records_with_calls),
      calls: n0(tools?.calls),
      calls_per_record: histogram(tools?.calls_per_record),
      used: arr(tools?.used).flatMap((u) => {
        const uo = obj(u);
        const name = str(uo?.name);
        const calls = n(uo?.calls);
        return name !== null && calls !== null ? [{ name, calls }] : [];
      }),
      distinct: n0(tools?.distinct),
      others: n0(tools?.others),
    },
    duplicates: { checked: dup?.checked === true, count: n0(dup?.count) },
    ...(obj(o.labels) ? { labels: labelsOf(o.labels) } : {}),
  };
}

function labelsOf(value: unknown): Record<string, Record<string, number>> {
  const out = Object.create(null) as Record<string, Record<string, number>>;
  for (const [target, values] of Object.entries(obj(value) ?? {})) out[target] = counts(values);
  return out;
}

function tokenSummary(value: unknown): TokenSummary | null {
  const o = obj(value);
  if (!o || n(o.total) === null) return null;
  const training = obj(o.training);
  return {
    method: str(o.method) ?? "estimate",
    tokenizer: str(o.tokenizer),
    records: n(o.records),
    total: n0(o.total),
    trainable: n(o.trainable),
    p50: n(o.p50),
    p95: n(o.p95),
    max: n(o.max),
    training:
      training && n(training.steps) !== null
        ? { steps: n0(training.steps), epochs: n0(training.epochs), tokens: n0(training.tokens), basis: str(training.basis) ?? "" }
        : null,
  };
}

function snippetOf(value: unknown): Snippet | null {
  const o = obj(value);
  const text = str(o?.text);
  const start = n(o?.start);
  const end = n(o?.end);
  if (text === null || start === null || end === null) return null;
  const s = Math.max(0, Math.min(text.length, Math.floor(start)));
  return { text, start: s, end: Math.max(s, Math.min(text.length, Math.floor(end))) };
}

function example(value: unknown, file: string): IssueExample | null {
  const o = obj(value);
  const code = str(o?.code);
  if (!o || code === null) return null;
  return {
    file: str(o.file) ?? file,
    line: n0(o.line),
    code,
    severity: str(o.severity) ?? (code.startsWith("W_") ? "warning" : "error"),
    path: str(o.path) ?? "",
    message: str(o.message) ?? "",
    snippet: snippetOf(o.snippet),
  };
}

/** A file's validation report (`validate --json` files[], `prepare --json` sources[].report). */
function fileRow(report: Obj, extra: { split?: string | null; status?: string | null; reason?: string | null; bytes?: number | null } = {}): FileRow {
  const path = str(report.path) ?? "?";
  const stats = obj(report.stats);
  const figures = figuresOf(report.figures);
  if (figures && stats && obj(stats.labels)) figures.labels = labelsOf(stats.labels);
  return {
    path,
    split: extra.split ?? str(report.split),
    format: str(report.format),
    records: n0(report.records),
    valid: n0(report.valid),
    invalid: n0(report.invalid),
    bytes: extra.bytes ?? n(report.bytes),
    errors: n0(report.errors),
    warnings: n0(report.warnings),
    tokens: tokenSummary(stats?.tokens),
    status: extra.status ?? null,
    reason: extra.reason ?? null,
    counts: counts(report.counts),
    examples: arr(report.issues).flatMap((i) => example(i, path) ?? []),
    figures,
  };
}

const SPLITS = ["train", "validation"];

function splitsOf(files: FileRow[], figures: unknown, tokens: unknown): SplitView[] {
  const byName = obj(figures);
  const tokensBySplit = obj(tokens);
  const names = [...new Set([...SPLITS.filter((s) => files.some((f) => f.split === s) || obj(byName?.[s])), ...files.map((f) => f.split ?? "all")])];
  return names.map((name) => {
    const mine = files.filter((f) => (f.split ?? "all") === name);
    const given = figuresOf(byName?.[name]);
    const merged = given ?? mergeFigures(mine.flatMap((f) => f.figures ?? []));
    // validate --json has one `tokens` for all files; prepare and run one per split.
    const splitTokens = tokenSummary(tokensBySplit?.[name]) ?? (names.length === 1 ? tokenSummary(tokens) : null);
    return { name, files: mine.length, records: mine.reduce((a, f) => a + f.valid, 0), figures: merged, tokens: splitTokens };
  });
}

function plannedRows(value: unknown): PlannedRow[] {
  return arr(value).flatMap((f) => {
    const o = obj(f);
    const path = str(o?.path);
    if (!o || path === null) return [];
    return [{
      path,
      split: str(o.split) ?? "train",
      kind: str(o.kind) ?? "?",
      part: n(o.part) ?? 1,
      parts: n(o.parts) ?? 1,
      records: n(o.records) ?? n(o.lines),
      bytes: n0(o.bytes),
      sha256: str(o.sha256) ?? "",
    }];
  });
}

function providerLimit(provider: string | null): number | null {
  if (provider === null || !Object.hasOwn(PROVIDERS, provider)) return null;
  return PROVIDERS[provider as keyof typeof PROVIDERS].limits.fileBytes;
}

function planOf(plan: Obj, provider: string | null): ReportModel["plan"] {
  return {
    maxFileBytes: n(field(plan, "max_file_bytes", "maxFileBytes")),
    providerLimit: providerLimit(provider),
    files: plannedRows(plan.files),
    notes: arr(plan.notes).flatMap((s) => str(s) ?? []),
  };
}

function sourcesOf(plan: Obj): FileRow[] {
  return arr(plan.sources).flatMap((s) => {
    const o = obj(s);
    const report = obj(o?.report);
    if (!o || !report) return [];
    return [fileRow(report, { split: str(o.split), status: str(o.status), reason: str(o.reason), bytes: n(o.bytes) })];
  });
}

function listOf<T>(value: unknown, pick: (o: Obj) => T | null): T[] {
  return arr(value).flatMap((v) => {
    const o = obj(v);
    const out = o ? pick(o) : null;
    return out === null ? [] : [out];
  });
}

const skippedOf = (value: unknown) => listOf(value, (o) => (str(o.path) !== null ? { path: str(o.path)!, reason: str(o.reason) ?? "" } : null));
const failuresOf = (value: unknown) => listOf(value, (o) => ({ path: str(o.path) ?? "", message: str(o.message) ?? "" }));

/** What kind of document this is, or a sentence saying why it is none. */
export function kindOf(doc: unknown): ReportKind | string {
  const o = obj(doc);
  if (!o) return "not a JSON object";
  if (n(o.version) !== null && Array.isArray(o.files) && Array.isArray(o.sources) && obj(o.tool)) return "manifest";
  if (obj(o.plan)) return "run";
  if (Array.isArray(o.sources) && Array.isArray(o.files)) return "prepare";
  if (Array.isArray(o.files)) return "validate";
  return "neither the --json output of ftprep validate, prepare, upload or run, nor a manifest";
}

/** Reads a document into what the report shows. Throws `TypeError` with a sentence when it is none of the kinds. */
export function reportModel(doc: unknown): ReportModel {
  const kind = kindOf(doc);
  if (kind !== "validate" && kind !== "prepare" && kind !== "run" && kind !== "manifest") throw new TypeError(kind);
  const o = doc as Obj;
  const provider = str(o.provider);
  const base: ReportModel = {
    kind,
    provider,
    ok: typeof o.ok === "boolean" ? o.ok : null,
    files: [],
    splits: [],
    planIssues: [],
    plan: null,
    upload: null,
    jobs: [],
    skipped: [],
    failures: [],
  };
  if (kind === "validate") {
    base.files = arr(o.files).flatMap((f) => (obj(f) ? [fileRow(obj(f)!)] : []));
    base.splits = splitsOf(base.files, o.figures, o.tokens);
    base.skipped = skippedOf(o.skipped);
    base.failures = failuresOf(o.failures);
    return base;
  }
  if (kind === "prepare" || kind === "run") {
    const plan = kind === "run" ? obj(o.plan)! : o;
    base.files = sourcesOf(plan);
    base.splits = splitsOf(base.files, o.figures, o.tokens);
    base.plan = planOf(plan, provider);
    base.planIssues = arr(plan.issues).flatMap((i) => example(i, "") ?? []);
    base.skipped = skippedOf(plan.skipped);
    base.failures = failuresOf(plan.failures);
    if (kind === "run") {
      const upload = obj(o.upload);
      base.upload = {
        baseUrl: str(field(o, "base_url", "baseUrl")),
        embedded: typeof o.embedded === "boolean" ? o.embedded : null,
        manifest: str(o.manifest),
        dryRun: field(o, "dry_run", "dryRun") === true,
        summary: upload
          ? {
              uploaded: n0(upload.uploaded),
              adopted: n0(upload.adopted),
              skipped: n0(upload.skipped),
              duplicates: n0(upload.duplicates),
              failed: Array.isArray(upload.failed) ? upload.failed.length : n0(upload.failed),
              retries: n0(upload.retries),
              aborted: upload.aborted === true,
            }
          : null,
        files: listOf(o.uploads, (u) =>
          str(u.path) === null
            ? null
            : { path: str(u.path)!, split: str(u.split), bytes: n(u.bytes), id: str(u.id), status: str(u.status) ?? "?", retries: n(u.retries), error: str(u.error) },
        ),
      };
      const job = obj(o.job);
      if (job) {
        const request = obj(job.request);
        const error = obj(job.error);
        base.jobs.push({
          id: str(job.id),
          status: str(job.status),
          model: str(request?.model),
          fineTunedModel: str(field(job, "fine_tuned_model", "fineTunedModel")),
          error: str(error?.message) ?? str(job.retired),
        });
      }
    }
    return base;
  }
  // A manifest: its sources (with their token counts), its validation totals, its files and jobs.
  base.ok = null;
  base.files = listOf(o.sources, (s) => {
    const path = str(s.path);
    if (path === null) return null;
    return {
      path,
      split: str(s.split),
      format: str(s.format),
      records: n0(s.records),
      valid: n0(s.valid),
      invalid: n0(s.invalid),
      bytes: n(s.bytes),
      errors: 0,
      warnings: 0,
      tokens: tokenSummary(s.tokens),
      status: null,
      reason: null,
      counts: Object.create(null) as Record<string, number>,
      examples: [],
      figures: figuresOf(s.figures),
    };
  });
  const validation = obj(o.validation);
  if (validation && base.files.length > 0) {
    // The manifest keeps the run's counts per code, not per file: shown once, on the first source.
    base.files[0]!.counts = counts(validation.counts);
  }
  base.splits = splitsOf(base.files, undefined, undefined);
  const files = arr(o.files).flatMap((f) => (obj(f) ? [obj(f)!] : []));
  base.plan = { maxFileBytes: n(obj(o.options)?.max_file_bytes), providerLimit: providerLimit(provider), files: plannedRows(files), notes: [] };
  base.upload = {
    baseUrl: str(o.base_url),
    embedded: str(o.embedded_store) !== null,
    manifest: null,
    dryRun: false,
    summary: null,
    files: files.flatMap((f) => {
      const path = str(f.path);
      if (path === null) return [];
      const remote = obj(f.remote);
      return [{ path, split: str(f.split), bytes: n(f.bytes), id: str(remote?.id), status: f.adopted === true ? "adopted" : "uploaded", retries: null, error: null }];
    }),
  };
  base.jobs = listOf(o.jobs, (j) => ({ id: str(j.id), status: str(j.status), model: str(j.model), fineTunedModel: str(j.fine_tuned_model), error: null }));
  return base;
}
