// Manifest benchmark (`npm run bench`, part "manifest"): the cost of recording one more uploaded file in a manifest
// that already holds 500 and 5,000 files — through the journal ftprep uses (one appended, fsynced line) and, as the
// baseline in the same run, by rewriting the whole manifest atomically (what ftprep did before the journal). Flat
// means the 5,000 figure is within 2× the 500 one; the whole-rewrite baseline grows with the manifest.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ManifestJournal, newManifest, writeManifest } from "../dist/index.js";

function entry(i) {
  const sha = i.toString(16).padStart(64, "0");
  return {
    path: `data/part-${i}.jsonl`, source: `data/part-${i}.jsonl`, kind: "original", part: 1, parts: 1, split: "train", weight: 1,
    sha256: sha, bytes: 123456, lines: 1000, target: "https://api.mistral.ai",
    remote: { id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`, filename: `part-${i}.${sha.slice(0, 12)}.jsonl`, bytes: 123456, num_lines: 1000, sample_type: "instruct", created_at: 1795321621 },
    uploaded_at: new Date().toISOString(),
  };
}

function manifestWith(n) {
  const m = newManifest({ provider: "mistral", base_url: "https://api.mistral.ai", target: "https://api.mistral.ai", embedded_store: null, options: {} }, "0.0.0");
  for (let i = 0; i < n; i++) m.files.push(entry(i));
  return m;
}

/** Milliseconds per recorded file: `records` more files recorded after `existing` ones, by `way`. */
async function perFile(dir, existing, records, way) {
  const path = join(dir, `m-${existing}-${way}.json`);
  const manifest = manifestWith(existing);
  await writeManifest(path, manifest);
  const journal = way === "journal" ? await ManifestJournal.open(path, manifest) : undefined;
  const started = process.hrtime.bigint();
  for (let i = 0; i < records; i++) {
    const file = entry(existing + i);
    manifest.files.push(file);
    if (journal) await journal.append(file);
    else await writeManifest(path, manifest);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / records;
  await journal?.close();
  return ms;
}

export async function manifestBench({ out }) {
  const dir = join(out, "manifest");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(`\n# manifest — cost of recording one uploaded file (ms per file, recorded after N files)`);
  const figures = {};
  for (const way of ["journal", "rewrite"]) {
    for (const n of [500, 5000]) figures[`${way}-${n}`] = await perFile(dir, n, way === "journal" ? 200 : 40, way);
    const ratio = figures[`${way}-5000`] / figures[`${way}-500`];
    const label = way === "journal" ? "journal (ftprep)        " : "whole rewrite (baseline)";
    console.log(`${label}: ${figures[`${way}-500`].toFixed(2)} ms at 500, ${figures[`${way}-5000`].toFixed(2)} ms at 5,000 (ratio ${ratio.toFixed(2)}×)`);
  }
  const journalRatio = figures["journal-5000"] / figures["journal-500"];
  const flat = journalRatio <= 2;
  console.log(`journal at 5,000 vs whole rewrite at 5,000: ${(figures["rewrite-5000"] / figures["journal-5000"]).toFixed(1)}× cheaper; flat (5,000 ≤ 2× 500): ${flat ? "met" : "NOT MET"}`);
  rmSync(dir, { recursive: true, force: true });
  return flat;
}
