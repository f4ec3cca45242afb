import { printable } from "../printable.js";
import { formatBytes } from "../guard/size.js";
import type { UploadEvent } from "../upload/uploader.js";
import type { Io } from "./io.js";

/**
 * Upload progress on stderr: on a terminal, one line redrawn in place (files and bytes done, rate, ETA, retries);
 * otherwise a plain line per finished file and at most one progress line every `intervalMs`.
 */
export class Progress {
  private files = 0;
  private done = 0;
  private totalBytes = 0;
  private sent = 0;
  private retries = 0;
  private started = Date.now();
  private lastLine = 0;

  constructor(
    private readonly io: Io,
    private readonly tty: boolean,
    private readonly intervalMs = 5000,
  ) {}

  private status(): string {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = this.sent / seconds;
    const left = Math.max(0, this.totalBytes - this.sent);
    const eta = rate > 0 && left > 0 ? `, ETA ${Math.ceil(left / rate)} s` : "";
    return `${this.done}/${this.files} files, ${formatBytes(Math.min(this.sent, this.totalBytes))} of ${formatBytes(this.totalBytes)} (${formatBytes(rate)}/s${eta})${this.retries ? `, ${this.retries} retries` : ""}`;
  }

  private line(text: string): void {
    if (this.tty) this.io.stderr(`\r\x1b[2K${text}`);
    else this.io.stderr(`${text}\n`);
  }

  private message(text: string): void {
    // On a terminal, print above the live line and redraw it.
    if (this.tty) this.io.stderr(`\r\x1b[2K${text}\n${this.status()}`);
    else this.io.stderr(`${text}\n`);
  }

  on(event: UploadEvent): void {
    switch (event.type) {
      case "start":
        this.files = event.files;
        this.totalBytes = event.bytes;
        this.started = Date.now();
        if (event.skipped > 0) this.message(`${event.skipped} file(s) already uploaded (in the manifest): skipped`);
        break;
      case "bytes":
        this.sent += event.n;
        if (this.tty || Date.now() - this.lastLine >= this.intervalMs) {
          this.lastLine = Date.now();
          if (this.tty) this.line(this.status());
          else this.line(`uploading: ${this.status()}`);
        }
        break;
      case "retry":
        this.retries++;
        this.message(`retrying ${printable(event.path)} in ${event.delayMs} ms (attempt ${event.attempt} failed: ${event.error.message})`);
        break;
      case "file-done":
        this.done++;
        this.message(`${event.adopted ? "found already uploaded" : "uploaded"} ${printable(event.path)} → ${event.id}`);
        break;
      case "file-failed":
        this.message(`failed ${printable(event.path)}: ${printable(event.error.message)}`);
        break;
      case "file-duplicate":
        this.message(`${printable(event.path)} has the same content as ${printable(event.of)}: sent once`);
        break;
      default:
        break;
    }
  }

  finish(): void {
    if (this.tty) this.io.stderr(`\r\x1b[2K`);
  }
}
