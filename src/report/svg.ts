import { logBucket, logBucketFrom, type HistogramJson } from "../validate/histogram.js";
import { h, type Html, num } from "./html.js";

/**
 * Histograms as inline SVG: bars per fixed bucket, a y axis of record counts, edges labelled under the bars, and
 * optionally a vertical line (the model's context, `seq_len`) with the count of records above it. With a second
 * histogram (a comparison), each bucket shows two bars side by side. Everything is an attribute or text — no style
 * attributes, no script — so it renders the same with JavaScript off and in print.
 */

export interface Marker {
  value: number;
  label: string;
  /** Records above the line, when known. */
  above: number | null;
}

interface Bar {
  from: number;
  to: number;
  counts: number[];
}

const W = 400;
const H = 180;
const LEFT = 36;
const RIGHT = 12;
const TOP = 28;
const BOTTOM = 36;

/** The log-scale buckets from index a to b, empty. */
function logRange(a: number, b: number, n: number): Bar[] {
  const out: Bar[] = [];
  for (let i = a; i <= b; i++) out.push({ from: logBucketFrom(i), to: logBucketFrom(i + 1), counts: new Array<number>(n).fill(0) });
  return out;
}

function isPowerOfTwo(v: number): boolean {
  return v >= 1 && Number.isInteger(Math.log2(v));
}

/** The bars of one or two histograms on one axis (the union of their buckets, filled up to the markers). */
function barsOf(histograms: HistogramJson[], markers: Marker[]): Bar[] {
  const scale = histograms[0]!.scale;
  const all = histograms.flatMap((hg) => hg.buckets);
  if (scale === "log") {
    const indices = all.map((b) => logBucket(b.from));
    for (const m of markers) if (m.value > 0) indices.push(logBucket(m.value));
    if (indices.length === 0) return [];
    const lo = Math.min(...indices);
    const hi = Math.max(...indices);
    // Foreign (hand-edited) buckets could ask for a huge range: the log scale has at most 124 buckets anyway.
    const bars = logRange(lo, hi, histograms.length);
    histograms.forEach((hg, k) => {
      for (const b of hg.buckets) {
        const bar = bars[logBucket(b.from) - lo];
        if (bar) bar.counts[k]! += b.count;
      }
    });
    return bars;
  }
  const bars: Bar[] = [];
  for (let i = 0; i < 20; i++) bars.push({ from: i / 20, to: (i + 1) / 20, counts: new Array<number>(histograms.length).fill(0) });
  histograms.forEach((hg, k) => {
    for (const b of hg.buckets) {
      const bar = bars[Math.min(19, Math.max(0, Math.floor(b.from * 20 + 1e-9)))];
      bar!.counts[k]! += b.count;
    }
  });
  return bars;
}

/** A round axis maximum at or above `max`: 1, 2, 5 × 10^k. */
function niceMax(max: number): number {
  if (max <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function compact(v: number): string {
  // Powers of two from 1,024 read as contexts are named: 32k is 32,768.
  if (v >= 1024 && isPowerOfTwo(v)) return v >= 1024 ** 2 ? `${v / 1024 ** 2}M` : `${v / 1024}k`;
  if (v >= 1_000_000) return `${Number((v / 1_000_000).toFixed(1))}M`;
  if (v >= 10_000) return `${Number((v / 1000).toFixed(0))}k`;
  if (v >= 1000) return `${Number((v / 1000).toFixed(1))}k`;
  return String(v);
}

/** Where a value falls on the x axis. */
function xOf(bars: Bar[], value: number, scale: HistogramJson["scale"], bw: number): number {
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    if (value < b.to || i === bars.length - 1) {
      const within =
        scale === "log" && b.from > 0 ? (Math.log2(Math.max(value, b.from)) - Math.log2(b.from)) / (Math.log2(b.to) - Math.log2(b.from)) : (value - b.from) / (b.to - b.from);
      return LEFT + (i + Math.min(1, Math.max(0, within))) * bw;
    }
  }
  return LEFT;
}

/** One histogram (or two, compared) as an SVG figure. `label` names the quantity for the title. */
export function histogramSvg(label: string, histograms: HistogramJson[], options: { markers?: Marker[]; series?: string[] } = {}): Html {
  const markers = options.markers ?? [];
  const bars = barsOf(histograms, markers);
  if (bars.length === 0) return h`<p class="muted">no records</p>`;
  const scale = histograms[0]!.scale;
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const bw = plotW / bars.length;
  const max = niceMax(Math.max(...bars.flatMap((b) => b.counts)));
  const y = (count: number) => TOP + plotH - (count / max) * plotH;
  const series = histograms.length;
  const rects = bars.flatMap((b, i) =>
    b.counts.map((count, k) => {
      if (count === 0) return h``;
      const gap = bw > 6 ? 1 : 0;
      const w = (bw - gap * 2) / series;
      const x = LEFT + i * bw + gap + k * w;
      const top = y(count);
      const range = scale === "share" ? `${Math.round(b.from * 100)}–${Math.round(b.to * 100)}%` : b.to - b.from === 1 ? `${num(b.from)}` : `${num(b.from)}–${num(b.to - 1)}`;
      const who = options.series?.[k] ? `${options.series[k]}: ` : "";
      return h`<rect class="bar s${k}" x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(0.5, w).toFixed(1)}" height="${(TOP + plotH - top).toFixed(1)}"><title>${who}${range}: ${num(count)} record(s)</title></rect>`;
    }),
  );
  // Gridlines and y labels at 0, ½ and the maximum.
  const grid = [0, max / 2, max].map(
    (v) => h`<line class="gl" x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/><text class="tick" x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${compact(v)}</text>`,
  );
  // X labels: edges that are powers of two (log) or quarters (share), thinned to fit.
  const edges: { x: number; text: string; tick?: boolean }[] = [];
  if (scale === "share") {
    for (const p of [0, 0.25, 0.5, 0.75, 1]) edges.push({ x: LEFT + p * plotW, text: `${p * 100}%` });
  } else if (bars.every((b) => b.to - b.from === 1)) {
    // Small counts (messages, turns, calls): each bar is one value, labelled under its middle.
    const step = Math.max(1, Math.ceil(bars.length / Math.floor(plotW / 22)));
    for (let i = 0; i < bars.length; i += step) edges.push({ x: LEFT + (i + 0.5) * bw, text: compact(bars[i]!.from), tick: false });
  } else {
    const candidates = bars.map((b, i) => ({ i, v: b.from })).filter(({ v }) => v === 0 || isPowerOfTwo(v));
    const lastEdge = bars[bars.length - 1]!.to;
    if (isPowerOfTwo(lastEdge)) candidates.push({ i: bars.length, v: lastEdge });
    const room = Math.max(1, Math.floor(plotW / 44));
    const step = Math.max(1, Math.ceil(candidates.length / room));
    for (let k = 0; k < candidates.length; k += step) edges.push({ x: LEFT + candidates[k]!.i * bw, text: compact(candidates[k]!.v) });
  }
  const xLabels = edges.map((e) => {
    const anchor = e.x >= W - RIGHT - 1 ? "end" : e.x <= LEFT + 1 && e.tick !== false ? "start" : "middle";
    const tick = e.tick === false ? h`` : h`<line class="axis" x1="${e.x.toFixed(1)}" x2="${e.x.toFixed(1)}" y1="${TOP + plotH}" y2="${TOP + plotH + 4}"/>`;
    return h`${tick}<text class="tick" x="${e.x.toFixed(1)}" y="${TOP + plotH + 15}" text-anchor="${anchor}">${e.text}</text>`;
  });
  const lines = markers.map((marker, k) => {
    const x = xOf(bars, marker.value, scale, bw);
    const anchor = x > LEFT + plotW * 0.6 ? "end" : "start";
    const tx = anchor === "end" ? x - 5 : x + 5;
    const above = marker.above === null ? "" : ` · ${num(marker.above)} above`;
    const ty = TOP - 12 - k * 0;
    return h`<line class="limit m${k}" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${TOP - 8 + k * 10}" y2="${TOP + plotH}"/><text class="limit-label m${k}" x="${tx.toFixed(1)}" y="${(ty + k * 10 + (k > 0 ? 8 : 0)).toFixed(1)}" text-anchor="${anchor}">${marker.label} ${num(marker.value)}${above}</text>`;
  });
  const axisTitle = scale === "share" ? "share of the record's tokens" : label;
  return h`<svg class="hist" viewBox="0 0 ${W} ${H}" role="img" aria-label="${label}"><title>${label}</title>${grid}<line class="axis" x1="${LEFT}" x2="${W - RIGHT}" y1="${TOP + plotH}" y2="${TOP + plotH}"/>${rects}${xLabels}${lines}<text class="axis-title" x="${LEFT + plotW / 2}" y="${H - 4}" text-anchor="middle">${axisTitle}</text></svg>`;
}

/** A horizontal bar list (roles, tools, labels): name, bar, count. */
export function barList(rows: { name: string; count: number; compare?: number }[], options: { series?: string[] } = {}): Html {
  if (rows.length === 0) return h`<p class="muted">none</p>`;
  const max = Math.max(1, ...rows.flatMap((r) => [r.count, r.compare ?? 0]));
  const two = rows.some((r) => r.compare !== undefined);
  const items = rows.map((r) => {
    const bar = (v: number, k: number) => h`<svg class="barline" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect class="s${k}" x="0" y="0" width="${((100 * v) / max).toFixed(2)}" height="8"/></svg>`;
    const counts = two ? h`${num(r.count)} → ${num(r.compare ?? 0)}` : h`${num(r.count)}`;
    return h`<li><span class="name" title="${r.name}">${r.name}</span><span class="bars">${bar(r.count, 0)}${two ? bar(r.compare ?? 0, 1) : ""}</span><span class="count">${counts}</span></li>`;
  });
  const legend = two && options.series ? h`<p class="legend"><span class="key s0"></span>${options.series[0]} <span class="key s1"></span>${options.series[1]}</p>` : "";
  return h`${legend}<ul class="barlist">${items}</ul>`;
}
