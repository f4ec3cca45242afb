import { createHash } from "node:crypto";
import { formatBytes } from "../guard/size.js";
import { ISSUE_CODES } from "../validate/codes.js";
import type { Figures } from "../validate/figures.js";
import { h, type Html, num, percent } from "./html.js";
import { type FileRow, type IssueExample, type ReportModel, reportModel, type SplitView, type TokenSummary } from "./model.js";
import { REPORT_CSS } from "./style.js";
import { barList, histogramSvg, type Marker } from "./svg.js";

/**
 * The HTML report: one self-contained file (inline CSS and SVG; no script, font, image or request), built from the
 * `--json` document of `validate`, `prepare`, `upload`/`run`, or from a manifest — so `--html` and a later
 * `ftprep report out.json` give the same page. Every string from the document is escaped (see `html.ts`).
 */

/** Examples shown per issue code (the `--json` document keeps up to `--max-issues` per code and file). */
const EXAMPLES_SHOWN = 5;

const KIND_LABEL: Record<ReportModel["kind"], string> = {
  validate: "validation",
  prepare: "prepare (validation and size guard)",
  run: "run (validation, size guard, upload)",
  manifest: "manifest",
};

function page(title: string, subtitle: Html, nav: [string, string][], body: Html, version: string): string {
  const cspHash = createHash("sha256").update(REPORT_CSS).digest("base64");
  const links = nav.map(([id, text]) => h`<a href="#${id}">${text}</a>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-${cspHash}'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="ftprep ${h`${version}`}">
<title>${h`${title}`}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header><div class="inner"><h1>${h`${title}`}</h1><p>${subtitle}</p><nav>${links.join("")}</nav></div></header>
<main>
${body}
</main>
<footer>Made by ftprep ${h`${version}`}. One self-contained file: no script, no font, no image and no request leave it; it reads the same with JavaScript off and prints.</footer>
</body>
</html>
`;
}

function card(key: string, value: Html | string, detail: Html | string = "", tone = ""): Html {
  return h`<div class="card ${tone}"><div class="k">${key}</div><div class="v">${value}</div><div class="d">${detail}</div></div>`;
}

function methodLabel(method: string, tokenizer: string | null): string {
  if (method === "estimate") return "estimated: characters ÷ 4 + 3 per message";
  if (method === "mixed") return "mixed methods";
  return `${method}${tokenizer ? `, ${tokenizer}` : ""}`;
}

function tokensOf(model: ReportModel): { total: number; trainable: number | null; method: string; tokenizer: string | null } {
  const splits = model.splits.filter((s) => s.tokens);
  if (splits.length > 0) {
    const trainable = splits.every((s) => s.tokens!.trainable !== null) ? splits.reduce((a, s) => a + s.tokens!.trainable!, 0) : null;
    const first = splits[0]!.tokens!;
    return { total: splits.reduce((a, s) => a + s.tokens!.total, 0), trainable, method: first.method, tokenizer: first.tokenizer };
  }
  const files = model.files.filter((f) => f.tokens);
  const trainable = files.length > 0 && files.every((f) => f.tokens!.trainable !== null) ? files.reduce((a, f) => a + f.tokens!.trainable!, 0) : null;
  const first = files[0]?.tokens;
  return { total: files.reduce((a, f) => a + f.tokens!.total, 0), trainable, method: first?.method ?? "estimate", tokenizer: first?.tokenizer ?? null };
}

function issueTotals(model: ReportModel): { errors: number; warnings: number; byCode: Map<string, { count: number; files: number }> } {
  const byCode = new Map<string, { count: number; files: number }>();
  let errors = 0;
  let warnings = 0;
  for (const f of model.files) {
    for (const [code, count] of Object.entries(f.counts)) {
      const seen = byCode.get(code) ?? { count: 0, files: 0 };
      byCode.set(code, { count: seen.count + count, files: seen.files + 1 });
      if (severityOf(code) === "error") errors += count;
      else warnings += count;
    }
  }
  for (const i of model.planIssues) {
    const seen = byCode.get(i.code) ?? { count: 0, files: 0 };
    byCode.set(i.code, { count: seen.count + 1, files: seen.files + 1 });
    if (i.severity === "error") errors++;
    else warnings++;
  }
  return { errors, warnings, byCode };
}

function severityOf(code: string): string {
  return Object.hasOwn(ISSUE_CODES, code) ? ISSUE_CODES[code as keyof typeof ISSUE_CODES].severity : code.startsWith("W_") ? "warning" : "error";
}

function summarySection(model: ReportModel): Html {
  const records = model.files.reduce((a, f) => a + f.records, 0);
  const valid = model.files.reduce((a, f) => a + f.valid, 0);
  const invalid = model.files.reduce((a, f) => a + f.invalid, 0);
  const tokens = tokensOf(model);
  const issues = issueTotals(model);
  const splits = model.splits.map((s) => `${s.name} ${num(s.records)}`).join(" · ");
  const cards: Html[] = [
    card("files", num(model.files.length), h`${splits}${model.skipped.length ? ` · ${model.skipped.length} skipped` : ""}${model.failures.length ? ` · ${model.failures.length} unreadable` : ""}`, model.failures.length ? "bad" : ""),
    card("records", num(records), h`${num(valid)} valid · ${num(invalid)} invalid`, invalid > 0 ? "bad" : ""),
    card(
      tokens.method === "estimate" ? "tokens (estimated)" : "tokens",
      `${tokens.method === "estimate" ? "~" : ""}${num(tokens.total)}`,
      tokens.trainable !== null ? h`${num(tokens.trainable)} trainable (${percent(tokens.trainable, tokens.total)}) · ${methodLabel(tokens.method, tokens.tokenizer)}` : methodLabel(tokens.method, tokens.tokenizer),
    ),
    card("issues", h`${num(issues.errors)} <span class="muted">/</span> ${num(issues.warnings)}`, "errors / warnings", issues.errors > 0 ? "bad" : "ok"),
  ];
  const train = model.splits.find((s) => s.tokens?.training)?.tokens?.training;
  if (train) {
    const what = train.basis === "openai-billing" ? "billable tokens" : "tokens processed";
    cards.push(card("before the run", h`${num(train.steps)} steps`, h`${Number(train.epochs.toFixed(2))} epoch(s) · ${num(train.tokens)} ${what}`));
  }
  if (model.upload?.summary) {
    const u = model.upload.summary;
    cards.push(card("upload", h`${num(u.uploaded)} sent`, h`${num(u.adopted)} found · ${num(u.skipped)} already recorded · ${num(u.failed)} failed · ${num(u.retries)} retries`, u.failed > 0 || u.aborted ? "bad" : "ok"));
  } else if (model.upload?.files.length) {
    cards.push(card("uploaded files", num(model.upload.files.length), model.upload.baseUrl ?? ""));
  }
  return h`<section id="summary"><h2>Summary</h2><div class="cards">${cards}</div>${failuresList(model)}</section>`;
}

function failuresList(model: ReportModel): Html {
  const rows = [
    ...model.failures.map((f) => h`<li><span class="sev-error">unreadable</span> <span class="mono">${f.path}</span>: ${f.message}</li>`),
    ...model.skipped.map((s) => h`<li><span class="muted">skipped</span> <span class="mono">${s.path}</span>: ${s.reason}</li>`),
  ];
  return rows.length ? h`<ul class="muted">${rows}</ul>` : h``;
}

/** The tokens-per-record figure: the histogram with the context and seq_len lines. */
function tokenFigure(f: Figures, tokens: TokenSummary | null, compare?: { other: Figures | null; series: string[] }): Html {
  const markers: Marker[] = [];
  const limit = f.tokens.limit;
  if (limit !== null) markers.push({ value: limit, label: "context", above: f.tokens.over_limit });
  const seqLen = f.tokens.seq_len ?? null;
  if (seqLen !== null && seqLen !== limit) markers.push({ value: seqLen, label: "seq_len", above: null });
  const histograms = [f.tokens.per_record, ...(compare?.other ? [compare.other.tokens.per_record] : [])];
  const spread = tokens && tokens.p50 !== null ? ` · p50 ${num(tokens.p50)}, p95 ${num(tokens.p95)}, max ${num(tokens.max)}` : "";
  const caption = `${methodLabel(f.tokens.method, f.tokens.tokenizer)}${spread}${limit === null ? " · no context line: give --model (or --max-tokens) to draw it" : ""}`;
  return h`<figure><h3>Tokens per record</h3>${histogramSvg("tokens per record", histograms, { markers, ...(compare ? { series: compare.series } : {}) })}<figcaption>${caption}</figcaption></figure>`;
}

function histFigure(title: string, label: string, list: Figures["messages"][], caption: string, series?: string[]): Html {
  return h`<figure><h3>${title}</h3>${histogramSvg(label, list, series ? { series } : {})}<figcaption>${caption}</figcaption></figure>`;
}

function top<T extends { count: number }>(rows: T[], n: number): T[] {
  return rows.sort((a, b) => b.count - a.count).slice(0, n);
}

function splitSection(split: SplitView, index: number): Html {
  const f = split.figures;
  const heading = h`<h2>What will be trained on: ${split.name} <span class="muted">— ${num(split.records)} valid record(s) in ${num(split.files)} file(s)</span></h2>`;
  if (!f || f.records === 0) return h`<section id="split-${index}">${heading}<p class="muted">No figures: no valid records${f ? "" : " (the document has no figures; ftprep writes them since 0.1)"}.</p></section>`;
  const shareMethod = f.trainable_share.method === "estimate" ? "estimated from the characters of the messages that train (give --model for exact counts)" : `counted (${methodLabel(f.trainable_share.method, f.tokens.tokenizer)})`;
  const figs: Html[] = [
    tokenFigure(f, split.tokens),
    histFigure("Trainable share per record", "trainable share", [f.trainable_share.per_record], shareMethod),
    histFigure("Messages per record", "messages per record", [f.messages], `${num(Object.values(f.roles).reduce((a, b) => a + b, 0))} messages in all`),
    histFigure("Assistant turns per record", "assistant messages per record", [f.turns], "assistant messages: the turns that can train"),
  ];
  const roles = Object.entries(f.roles).map(([name, count]) => ({ name, count }));
  const t = f.tools;
  const tools = h`<figure><h3>Tools</h3><dl class="facts"><dt>records declaring tools</dt><dd>${num(t.records_with_tools)} (${percent(t.records_with_tools, f.records)})</dd><dt>records with tool calls</dt><dd>${num(t.records_with_calls)} (${percent(t.records_with_calls, f.records)})</dd><dt>tool calls</dt><dd>${num(t.calls)}${t.distinct ? h` (${num(t.distinct)} distinct tool${t.distinct === 1 ? "" : "s"})` : ""}</dd></dl>${t.calls > 0 ? histogramSvg("tool calls per record", [t.calls_per_record]) : ""}${t.used.length ? h`<h3>most called</h3>${barList(t.used.map((u) => ({ name: u.name, count: u.calls })))}` : ""}${t.others ? h`<p class="muted">${num(t.others)} call(s) to names past the first 1,000 distinct ones</p>` : ""}</figure>`;
  const duplicates = f.duplicates.checked
    ? h`<p><strong>${num(f.duplicates.count)}</strong> duplicate record(s): identical to an earlier one (${percent(f.duplicates.count, f.records + f.duplicates.count)})</p>`
    : h`<p class="muted">Duplicates not looked for: run with --duplicates (validate) or --dedupe (prepare, run).</p>`;
  const extra: Html[] = [h`<figure><h3>Messages by role</h3>${barList(top(roles, 12))}<h3 class="gap">Duplicates</h3>${duplicates}</figure>`, tools];
  for (const [target, values] of Object.entries(f.labels ?? {})) {
    const rows = top(Object.entries(values).map(([name, count]) => ({ name, count })), 20);
    extra.push(h`<figure><h3>Labels: ${target}</h3>${barList(rows)}${Object.keys(values).length > 20 ? h`<p class="muted">${num(Object.keys(values).length)} values; the 20 most frequent shown</p>` : ""}</figure>`);
  }
  return h`<section id="split-${index}">${heading}<div class="figs">${figs}${extra}</div></section>`;
}

interface Column {
  label: string;
  /** Right-aligned figures. */
  numeric?: boolean;
  /** Classes of the column's cells (`path mono`, `mono`). */
  cls?: string;
}

type Cell = Parameters<typeof h>[1];

/**
 * A table in a horizontally scrolling box. Each cell carries its column's name (`data-label`), so on a phone's width
 * the stylesheet shows each row as a small card of "name value" lines instead of a table wider than the screen.
 */
function table(columns: Column[], rows: { cells: Cell[]; bad?: boolean }[]): Html {
  const head = columns.map((c) => h`<th${c.numeric ? h` class="n"` : ""}>${c.label}</th>`);
  const body = rows.map(
    (r) => h`<tr${r.bad ? h` class="bad"` : ""}>${r.cells.map((cell, i) => {
      const c = columns[i]!;
      const cls = [c.numeric ? "n" : "", c.cls ?? ""].filter(Boolean).join(" ");
      return h`<td${cls ? h` class="${cls}"` : ""} data-label="${c.label}">${cell}</td>`;
    })}</tr>`,
  );
  return h`<div class="scroll"><table class="stack"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function tokenCell(t: TokenSummary | null): Html {
  if (!t) return h`–`;
  return h`${t.method === "estimate" ? "~" : ""}${num(t.total)}`;
}

function filesSection(model: ReportModel): Html {
  const hasStatus = model.files.some((f) => f.status !== null);
  const columns: Column[] = [
    { label: "file", cls: "path mono" },
    { label: "split" },
    { label: "format" },
    ...["records", "valid", "invalid", "size", "tokens", "errors", "warnings"].map((label) => ({ label, numeric: true })),
    ...(hasStatus ? [{ label: "status" }] : []),
  ];
  const rows = model.files.map((f) => ({
    bad: f.errors > 0 || (f.status !== null && f.status !== "ready"),
    cells: [
      f.path,
      f.split ?? "–",
      f.format ?? "–",
      num(f.records),
      num(f.valid),
      num(f.invalid),
      f.bytes !== null ? formatBytes(f.bytes) : "–",
      tokenCell(f.tokens),
      num(f.errors),
      num(f.warnings),
      ...(hasStatus ? [h`${f.status ?? ""}${f.reason ? h`<div class="muted">${f.reason}</div>` : ""}`] : []),
    ],
  }));
  return h`<section id="files"><h2>Files</h2>${table(columns, rows)}</section>`;
}

/** The snippet with its marked part in `<mark>`: three escaped pieces. */
function snippetHtml(e: IssueExample): Html {
  const s = e.snippet;
  if (!s) return h``;
  const before = s.text.slice(0, s.start);
  const marked = s.text.slice(s.start, s.end);
  const after = s.text.slice(s.end);
  return h`<pre class="snippet">${before}${marked ? h`<mark>${marked}</mark>` : ""}${after}</pre>`;
}

function issuesSection(model: ReportModel): Html {
  const totals = issueTotals(model);
  if (totals.byCode.size === 0) return h`<section id="issues"><h2>Issues</h2><p>None: every record passed ${model.provider ? h`${model.provider}'s` : "the"} rules.</p></section>`;
  const codes = [...totals.byCode.entries()].sort((a, b) => (severityOf(a[0]) === severityOf(b[0]) ? b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1) : severityOf(a[0]) === "error" ? -1 : 1));
  const summaryOf = (code: string) => (Object.hasOwn(ISSUE_CODES, code) ? ISSUE_CODES[code as keyof typeof ISSUE_CODES].summary : "");
  const byCode = table(
    [{ label: "code" }, { label: "severity" }, { label: "count", numeric: true }, { label: "files", numeric: true }, { label: "meaning" }],
    codes.map(([code, t]) => ({ cells: [h`<a href="#code-${code}" class="mono">${code}</a>`, h`<span class="sev-${severityOf(code)}">${severityOf(code)}</span>`, num(t.count), num(t.files), summaryOf(code)] })),
  );
  const examples = [...model.files.flatMap((f) => f.examples), ...model.planIssues];
  const blocks = codes.map(([code, t]) => {
    const mine = examples.filter((e) => e.code === code);
    const shown = mine.slice(0, EXAMPLES_SHOWN).map(
      (e) => h`<div class="example"><div class="where"><span class="mono">${e.file}${e.line > 0 ? `:${e.line}` : ""}</span>${e.path ? h` · <code>${e.path}</code>` : ""}</div><p>${e.message}</p>${snippetHtml(e)}</div>`,
    );
    const more = t.count - shown.length;
    return h`<div class="code-block" id="code-${code}"><h3><span class="mono sev-${severityOf(code)}">${code}</span> ×${num(t.count)}</h3>${shown}${more > 0 ? h`<p class="muted">${num(more)} more: every issue is in the --report NDJSON file; --json keeps the first --max-issues per code and file</p>` : ""}</div>`;
  });
  return h`<section id="issues"><h2>Issues by code</h2>${byCode}<h2 class="examples">First examples</h2>${blocks}</section>`;
}

function sizeBar(bytes: number, limit: number | null): Html {
  if (limit === null || !(limit > 0)) return h``;
  const w = Math.min(100, (100 * bytes) / limit);
  return h`<svg class="sizebar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${percent(bytes, limit)} of the limit"><rect class="track" x="0" y="0" width="100" height="10" rx="2"/><rect class="${bytes > limit ? "over" : "fill"}" x="0" y="0" width="${w.toFixed(2)}" height="10" rx="2"/></svg>`;
}

function planSection(model: ReportModel): Html {
  const plan = model.plan;
  if (!plan) return h``;
  const limit = plan.maxFileBytes ?? plan.providerLimit;
  const facts = h`<dl class="facts"><dt>largest file allowed</dt><dd>${plan.maxFileBytes !== null ? h`${num(plan.maxFileBytes)} bytes (${formatBytes(plan.maxFileBytes)})` : "–"}</dd><dt>the provider's limit</dt><dd>${plan.providerLimit !== null ? h`${num(plan.providerLimit)} bytes per file (${model.provider ?? ""})` : "–"}</dd><dt>files to upload</dt><dd>${num(plan.files.length)}${plan.files.some((f) => f.kind === "shard") ? h` (${num(plan.files.filter((f) => f.kind === "shard").length)} shards)` : ""}</dd></dl>`;
  const rows = plan.files.map((f) => ({
    cells: [f.split, `${f.kind}${f.parts > 1 ? ` ${f.part}/${f.parts}` : ""}`, num(f.records), formatBytes(f.bytes), h`${sizeBar(f.bytes, limit)} <span class="muted">${limit ? percent(f.bytes, limit) : ""}</span>`, f.sha256.slice(0, 12), f.path],
  }));
  const notes = plan.notes.length ? h`<ul>${plan.notes.map((n) => h`<li>${n}</li>`)}</ul>` : "";
  const files = rows.length
    ? table([{ label: "split" }, { label: "kind" }, { label: "records", numeric: true }, { label: "size", numeric: true }, { label: "of the limit" }, { label: "sha256", cls: "mono" }, { label: "file", cls: "path mono" }], rows)
    : h`<p class="muted">nothing to upload</p>`;
  return h`<section id="plan"><h2>Size guard</h2>${facts}${notes}${files}</section>`;
}

function uploadSection(model: ReportModel): Html {
  const u = model.upload;
  if (!u) return h``;
  const where = u.embedded ? h`the embedded local Files API${u.baseUrl ? h` (${u.baseUrl})` : ""}` : h`${u.baseUrl ?? "–"}`;
  const facts = h`<dl class="facts"><dt>to</dt><dd class="mono">${where}</dd>${u.manifest ? h`<dt>manifest</dt><dd class="mono">${u.manifest}</dd>` : ""}${u.summary ? h`<dt>result</dt><dd>${num(u.summary.uploaded)} uploaded, ${num(u.summary.adopted)} found already uploaded, ${num(u.summary.skipped)} skipped (in the manifest), ${u.summary.duplicates ? h`${num(u.summary.duplicates)} with the same content as another, ` : ""}${num(u.summary.failed)} failed, ${num(u.summary.retries)} retries${u.summary.aborted ? " — stopped" : ""}</dd>` : ""}${u.dryRun ? h`<dt>dry run</dt><dd>nothing was sent</dd>` : ""}</dl>`;
  const rows = u.files.map((f) => ({
    bad: f.status === "failed",
    cells: [f.path, f.split ?? "–", f.bytes !== null ? formatBytes(f.bytes) : "–", f.id ?? "–", h`${f.status}${f.error ? h`<div class="muted">${f.error}</div>` : ""}`, f.retries !== null ? num(f.retries) : "–"],
  }));
  const files = rows.length
    ? table([{ label: "file", cls: "path mono" }, { label: "split" }, { label: "size", numeric: true }, { label: "file id", cls: "mono" }, { label: "status" }, { label: "retries", numeric: true }], rows)
    : "";
  const jobs = model.jobs.map(
    (j) => h`<dl class="facts"><dt>job</dt><dd class="mono">${j.id ?? "not created"}</dd><dt>status</dt><dd>${j.status ?? "–"}</dd>${j.model ? h`<dt>model</dt><dd class="mono">${j.model}</dd>` : ""}${j.fineTunedModel ? h`<dt>fine-tuned model</dt><dd class="mono">${j.fineTunedModel}</dd>` : ""}${j.error ? h`<dt>no job</dt><dd>${j.error}</dd>` : ""}</dl>`,
  );
  return h`<section id="upload"><h2>Upload</h2>${facts}${files}${jobs.length ? h`<h2>Job</h2>${jobs}` : ""}</section>`;
}

function subtitle(model: ReportModel, extra: string): Html {
  const verdict = model.ok === null ? h`` : model.ok ? h`<span class="badge ok">ok</span>` : h`<span class="badge bad">not ok</span>`;
  return h`${KIND_LABEL[model.kind]}${model.provider ? ` · for ${model.provider}` : ""} · ${num(model.files.length)} file(s)${extra}${verdict}`;
}

function navOf(model: ReportModel): [string, string][] {
  return [
    ["summary", "Summary"],
    ...model.splits.map((s, i): [string, string] => [`split-${i}`, `Figures: ${s.name}`]),
    ["files", "Files"],
    ["issues", "Issues"],
    ...(model.plan ? [["plan", "Size guard"] as [string, string]] : []),
    ...(model.upload ? [["upload", "Upload"] as [string, string]] : []),
  ];
}

/** The HTML report of one `--json` document (or manifest). Throws `TypeError` when the document is neither. */
export function renderReport(doc: unknown, options: { version?: string } = {}): string {
  const model = reportModel(doc);
  const body = h`${summarySection(model)}${model.splits.map((s, i) => splitSection(s, i))}${filesSection(model)}${issuesSection(model)}${planSection(model)}${uploadSection(model)}`;
  return page("ftprep report", subtitle(model, ""), navOf(model), body, options.version ?? "");
}

// ——— comparison of two runs ———

function delta(a: number, b: number, lowerIsBetter = false): Html {
  const d = b - a;
  if (d === 0) return h`<span class="muted">=</span>`;
  const cls = `${d > 0 ? "delta-up" : "delta-down"}${lowerIsBetter ? "" : " good"}`;
  return h`<span class="${cls}">${d > 0 ? "+" : "−"}${num(Math.abs(d))}${a !== 0 ? ` (${d > 0 ? "+" : "−"}${percent(Math.abs(d), Math.abs(a))})` : ""}</span>`;
}

interface Totals {
  files: number;
  records: number;
  valid: number;
  invalid: number;
  tokens: number;
  trainable: number | null;
  errors: number;
  warnings: number;
  bytes: number;
  uploadFiles: number;
}

function totalsOf(model: ReportModel): Totals {
  const t = tokensOf(model);
  const issues = issueTotals(model);
  return {
    files: model.files.length,
    records: model.files.reduce((a, f) => a + f.records, 0),
    valid: model.files.reduce((a, f) => a + f.valid, 0),
    invalid: model.files.reduce((a, f) => a + f.invalid, 0),
    tokens: t.total,
    trainable: t.trainable,
    errors: issues.errors,
    warnings: issues.warnings,
    bytes: model.files.reduce((a, f) => a + (f.bytes ?? 0), 0),
    uploadFiles: model.plan?.files.length ?? 0,
  };
}

/** Two reports side by side: what changed between them (totals, figures per split, issues per code, files). */
export function renderComparison(a: unknown, b: unknown, names: [string, string], options: { version?: string } = {}): string {
  const ma = reportModel(a);
  const mb = reportModel(b);
  const ta = totalsOf(ma);
  const tb = totalsOf(mb);
  const series = [`A: ${names[0]}`, `B: ${names[1]}`];
  const row = (label: string, x: number | null, y: number | null, lowerIsBetter = false) => ({ cells: [label, num(x), num(y), x !== null && y !== null ? delta(x, y, lowerIsBetter) : "–"] });
  const changeColumns = (first: string): Column[] => [{ label: first }, { label: "A", numeric: true }, { label: "B", numeric: true }, { label: "change", numeric: true }];
  const summary = h`<section id="summary"><h2>What changed</h2><p class="legend"><span class="key s0"></span>${series[0]} (${KIND_LABEL[ma.kind]}) <span class="key s1"></span>${series[1]} (${KIND_LABEL[mb.kind]})</p>${table(changeColumns("measure"), [
    row("files", ta.files, tb.files),
    row("records", ta.records, tb.records),
    row("valid records", ta.valid, tb.valid),
    row("invalid records", ta.invalid, tb.invalid, true),
    row("bytes", ta.bytes, tb.bytes),
    row(`tokens${tokensOf(ma).method === "estimate" || tokensOf(mb).method === "estimate" ? " (estimated in one or both)" : ""}`, ta.tokens, tb.tokens),
    row("trainable tokens", ta.trainable, tb.trainable),
    row("errors", ta.errors, tb.errors, true),
    row("warnings", ta.warnings, tb.warnings, true),
    row("files to upload", ta.uploadFiles, tb.uploadFiles),
  ])}</section>`;
  const splitNames = [...new Set([...ma.splits.map((s) => s.name), ...mb.splits.map((s) => s.name)])];
  const splits = splitNames.map((name, i) => {
    const fa = ma.splits.find((s) => s.name === name)?.figures ?? null;
    const fb = mb.splits.find((s) => s.name === name)?.figures ?? null;
    const base = fa ?? fb;
    if (!base) return h``;
    const empty = { scale: "log" as const, buckets: [] };
    const pair = (pick: (f: Figures) => Figures["messages"]) => [fa ? pick(fa) : empty, fb ? pick(fb) : empty];
    const sharePair = [fa?.trainable_share.per_record ?? { scale: "share" as const, buckets: [] }, fb?.trainable_share.per_record ?? { scale: "share" as const, buckets: [] }];
    const roles = [...new Set([...Object.keys(fa?.roles ?? {}), ...Object.keys(fb?.roles ?? {})])].map((r) => ({ name: r, count: fa?.roles[r] ?? 0, compare: fb?.roles[r] ?? 0 }));
    const markers: Marker[] = base.tokens.limit !== null ? [{ value: base.tokens.limit, label: "context", above: null }] : [];
    return h`<section id="split-${i}"><h2>Figures: ${name} <span class="muted">— A ${num(fa?.records ?? 0)}, B ${num(fb?.records ?? 0)} valid record(s)</span></h2><div class="figs"><figure><h3>Tokens per record</h3>${histogramSvg("tokens per record", pair((f) => f.tokens.per_record), { markers, series })}<figcaption>A: ${fa ? methodLabel(fa.tokens.method, fa.tokens.tokenizer) : "–"} · B: ${fb ? methodLabel(fb.tokens.method, fb.tokens.tokenizer) : "–"}</figcaption></figure>${histFigure("Trainable share per record", "trainable share", sharePair, "A and B side by side per bucket", series)}${histFigure("Messages per record", "messages per record", pair((f) => f.messages), "", series)}${histFigure("Assistant turns per record", "assistant messages per record", pair((f) => f.turns), "", series)}<figure><h3>Messages by role</h3>${barList(roles, { series })}</figure></div></section>`;
  });
  const issues = issueTotals(ma).byCode;
  const issuesB = issueTotals(mb).byCode;
  const codes = [...new Set([...issues.keys(), ...issuesB.keys()])].sort();
  const issueRows = codes.map((code) => row(code, issues.get(code)?.count ?? 0, issuesB.get(code)?.count ?? 0, true));
  const issueSection = h`<section id="issues"><h2>Issues by code</h2>${codes.length ? table(changeColumns("code"), issueRows) : h`<p>None in either.</p>`}</section>`;
  const paths = [...new Set([...ma.files.map((f) => f.path), ...mb.files.map((f) => f.path)])];
  const fileRows = paths.map((path) => {
    const x: FileRow | undefined = ma.files.find((f) => f.path === path);
    const y: FileRow | undefined = mb.files.find((f) => f.path === path);
    const state = !x ? "added in B" : !y ? "only in A" : x.records !== y.records || x.invalid !== y.invalid || x.bytes !== y.bytes ? "changed" : "same";
    return {
      bad: state !== "same",
      cells: [path, state, num(x?.records ?? null), num(y?.records ?? null), num(x?.invalid ?? null), num(y?.invalid ?? null), x?.tokens ? tokenCell(x.tokens) : "–", y?.tokens ? tokenCell(y.tokens) : "–"],
    };
  });
  const fileColumns: Column[] = [{ label: "file", cls: "path mono" }, { label: "in B" }, ...["records A", "records B", "invalid A", "invalid B", "tokens A", "tokens B"].map((label) => ({ label, numeric: true }))];
  const files = h`<section id="files"><h2>Files</h2>${table(fileColumns, fileRows)}</section>`;
  const nav: [string, string][] = [["summary", "What changed"], ...splitNames.map((s, i): [string, string] => [`split-${i}`, `Figures: ${s}`]), ["issues", "Issues"], ["files", "Files"]];
  return page("ftprep report: comparison", h`A ${names[0]} → B ${names[1]}`, nav, h`${summary}${splits}${issueSection}${files}`, options.version ?? "");
}

