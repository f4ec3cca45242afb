import { ConfigError } from "../errors.js";
import { checkManifest, type Manifest, type ManifestFile, type ManifestSource } from "./manifest.js";

/** A manifest to merge, with the name it is known by in messages (its path). */
export interface NamedManifest {
  name: string;
  manifest: Manifest;
}

/**
 * Merges partial manifests (one per shard of a plan, or per unit of a queue) into one that `jobs create` consumes.
 * They must be for the same provider and target. Files are deduplicated by sha256 (a unit done twice uploads
 * nothing twice, and is recorded once: the first entry in input order stays); sources by path. A conflict — the
 * same output path or source with two different contents, meaning the data changed between workers — is refused
 * with a usage error naming both manifests. A partial manifest whose sources all came before adds nothing to the
 * validation counts (a unit done twice is counted once). Jobs are joined by id.
 */
export function mergeManifests(inputs: readonly NamedManifest[]): Manifest {
  if (inputs.length === 0) throw new ConfigError("nothing to merge: give at least one manifest");
  const first = inputs[0]!;
  const files: ManifestFile[] = [];
  const bySha = new Map<string, { file: ManifestFile; from: string }>();
  const byPath = new Map<string, { sha256: string; from: string }>();
  const sources = new Map<string, { source: ManifestSource; from: string }>();
  const jobs = new Map<string, Record<string, unknown>>();
  const validation: Manifest["validation"] = { files: 0, records: 0, valid: 0, invalid: 0, errors: 0, warnings: 0, counts: {} };
  const paths: unknown[] = [];
  let created = first.manifest.created_at;
  let latest = first;
  for (const input of inputs) {
    const m = input.manifest;
    if (m.provider !== first.manifest.provider || m.target !== first.manifest.target) {
      throw new ConfigError(`${input.name} is for ${m.provider} at ${m.target}, ${first.name} for ${first.manifest.provider} at ${first.manifest.target}: manifests of different targets cannot be merged`);
    }
    if (m.created_at < created) created = m.created_at;
    if (m.updated_at > latest.manifest.updated_at) latest = input;
    let newSource = m.sources.length === 0;
    for (const source of m.sources) {
      const known = sources.get(source.path);
      if (known === undefined) {
        sources.set(source.path, { source, from: input.name });
        newSource = true;
      } else if (known.source.sha256 !== source.sha256) {
        throw new ConfigError(`${source.path} has different contents in ${known.from} and ${input.name} (sha256 ${known.source.sha256.slice(0, 12)}… and ${source.sha256.slice(0, 12)}…): the data changed between workers; plan again`);
      }
    }
    if (newSource) {
      for (const key of ["files", "records", "valid", "invalid", "errors", "warnings"] as const) validation[key] += m.validation[key];
      for (const [code, n] of Object.entries(m.validation.counts)) validation.counts[code] = (validation.counts[code] ?? 0) + n;
    }
    for (const file of m.files) {
      const samePath = byPath.get(file.path);
      if (samePath !== undefined && samePath.sha256 !== file.sha256) {
        throw new ConfigError(`${file.path} has different contents in ${samePath.from} and ${input.name} (sha256 ${samePath.sha256.slice(0, 12)}… and ${file.sha256.slice(0, 12)}…): the data changed between workers; plan again`);
      }
      byPath.set(file.path, { sha256: file.sha256, from: input.name });
      if (bySha.has(file.sha256)) continue;
      bySha.set(file.sha256, { file, from: input.name });
      files.push(file);
    }
    for (const job of m.jobs) if (typeof job.id === "string" && !jobs.has(job.id)) jobs.set(job.id, job);
    const own = (m.options as { paths?: unknown }).paths;
    if (Array.isArray(own)) for (const p of own) if (!paths.some((q) => JSON.stringify(q) === JSON.stringify(p))) paths.push(p);
  }
  const merged: Manifest = {
    ...(first.manifest.$schema !== undefined ? { $schema: first.manifest.$schema } : {}),
    version: 1,
    tool: first.manifest.tool,
    provider: first.manifest.provider,
    // The most recent run's URL (the embedded server's port changes between runs; the target does not).
    base_url: latest.manifest.base_url,
    target: first.manifest.target,
    embedded_store: first.manifest.embedded_store,
    created_at: created,
    updated_at: new Date().toISOString(),
    options: { ...first.manifest.options, paths, merged_from: inputs.length },
    sources: [...sources.values()].map((s) => s.source),
    files,
    validation,
    jobs: [...jobs.values()],
  };
  const problem = checkManifest(merged);
  if (problem !== undefined) throw new ConfigError(`the merged manifest would not be valid: ${problem}`);
  return merged;
}
