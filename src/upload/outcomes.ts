import type { UploadEvent, UploadItem } from "./uploader.js";

/** What became of one file of a run's upload: the file id it has on the provider, and how many retries it took. */
export interface UploadOutcome {
  path: string;
  split: UploadItem["split"];
  kind: UploadItem["kind"];
  part: number;
  parts: number;
  bytes: number;
  sha256: string;
  /** `uploaded` sent now; `adopted` found on the provider already; `skipped` in the manifest already; `duplicate` same content as another file of the run (sent once); `failed`; `not_sent` (the run stopped first). */
  status: "uploaded" | "adopted" | "skipped" | "duplicate" | "failed" | "not_sent";
  id: string | null;
  retries: number;
  error: string | null;
}

/** Follows the uploader's events and tells, per file, what became of it (for `run --json` and the report). */
export class UploadOutcomes {
  private readonly byPath = new Map<string, { status: UploadOutcome["status"]; id: string | null; retries: number; error: string | null; of?: string }>();

  private entry(path: string) {
    let e = this.byPath.get(path);
    if (!e) this.byPath.set(path, (e = { status: "not_sent", id: null, retries: 0, error: null }));
    return e;
  }

  /** Told every event of the uploader. */
  see(event: UploadEvent): void {
    switch (event.type) {
      case "retry":
        this.entry(event.path).retries++;
        break;
      case "file-done":
        Object.assign(this.entry(event.path), { status: event.adopted ? "adopted" : "uploaded", id: event.id });
        break;
      case "file-skipped":
        Object.assign(this.entry(event.path), { status: "skipped", id: event.id });
        break;
      case "file-duplicate":
        Object.assign(this.entry(event.path), { status: "duplicate", of: event.of });
        break;
      case "file-failed":
        Object.assign(this.entry(event.path), { status: "failed", error: event.error.message });
        break;
      default:
        break;
    }
  }

  /** One outcome per file, in the order given. A duplicate gets the id of the file sent in its place. */
  list(items: readonly UploadItem[]): UploadOutcome[] {
    return items.map((item) => {
      const e = this.byPath.get(item.path) ?? { status: "not_sent" as const, id: null, retries: 0, error: null };
      const id = e.status === "duplicate" && e.of !== undefined ? (this.byPath.get(e.of)?.id ?? null) : e.id;
      return { path: item.path, split: item.split, kind: item.kind, part: item.part, parts: item.parts, bytes: item.bytes, sha256: item.sha256, status: e.status, id, retries: e.retries, error: e.error };
    });
  }
}
