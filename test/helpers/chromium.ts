import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/**
 * Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands on fd 3,
 * answers on fd 4, each a JSON message ended by NUL), so no port is opened. The browser gets no network: every
 * request goes to a proxy on a closed loopback port and no name resolves, so a page that tried to load anything
 * would fail — and the page's own requests are recorded (`Network.requestWillBeSent`), which is what the tests check.
 * Chromium is Debian's package, installed by `scripts/ensure-chromium.sh` (npm test's pretest step).
 */

export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

export class Chromium {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((e: CdpEvent) => void)[] = [];
  readonly events: CdpEvent[] = [];
  stderr = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const out = child.stdio[4] as Readable;
    let buffer = "";
    out.setEncoding("utf8");
    out.on("data", (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf("\0")) >= 0) {
        const message = JSON.parse(buffer.slice(0, end)) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
        buffer = buffer.slice(end + 1);
        if (message.id !== undefined) {
          const p = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error) p?.reject(new Error(message.error.message));
          else p?.resolve(message.result ?? {});
        } else if (message.method) {
          const event: CdpEvent = { method: message.method, params: message.params ?? {}, ...(message.sessionId ? { sessionId: message.sessionId } : {}) };
          this.events.push(event);
          for (const l of this.listeners) l(event);
        }
      }
    });
    child.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Starts the browser with no network, on a fresh profile. */
  static async launch(): Promise<Chromium> {
    const binary = process.env.FTPREP_CHROMIUM ?? "chromium";
    const profile = await mkdtemp(join(tmpdir(), "ftprep-chromium-"));
    const child = spawn(
      binary,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--remote-debugging-pipe",
        `--user-data-dir=${profile}`,
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--no-pings",
        "--hide-scrollbars",
        // No network: a closed loopback proxy for everything, and no name resolves.
        "--proxy-server=http://127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "about:blank",
      ],
      { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (e) => reject(new Error(`cannot start ${binary} (${e.message}): run scripts/ensure-chromium.sh`)));
    });
    return new Chromium(child, profile);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    const message = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      (this.child.stdio[3] as Writable).write(`${message}\0`);
    });
  }

  /** Resolves with the next event of that method (of that session) for which `test` holds. */
  waitFor(method: string, sessionId: string, test: (e: CdpEvent) => boolean = () => true): Promise<CdpEvent> {
    return new Promise((resolve) => {
      const listener = (e: CdpEvent) => {
        if (e.method === method && e.sessionId === sessionId && test(e)) {
          this.listeners.splice(this.listeners.indexOf(listener), 1);
          resolve(e);
        }
      };
      this.listeners.push(listener);
    });
  }

  /** A page (tab) to drive, with the domains the tests read. */
  async page(): Promise<Page> {
    const { targetId } = (await this.send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
    const { sessionId } = (await this.send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    for (const domain of ["Page", "Network", "Log", "Runtime", "DOM", "CSS"]) await this.send(`${domain}.enable`, {}, sessionId);
    return new Page(this, sessionId);
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    await this.send("Browser.close").catch(() => {});
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
    await rm(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(
    readonly browser: Chromium,
    readonly sessionId: string,
  ) {}

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** Loads a URL and waits for its load event; returns the URLs the page requested meanwhile (itself included). */
  async load(url: string): Promise<string[]> {
    const from = this.browser.events.length;
    const loaded = this.browser.waitFor("Page.loadEventFired", this.sessionId);
    await this.send("Page.navigate", { url });
    await loaded;
    // Requests a page makes are sent before its load event; ask once more so late ones are in.
    await this.send("Runtime.evaluate", { expression: "1" }).catch(() => {});
    return this.browser.events
      .slice(from)
      .filter((e) => e.sessionId === this.sessionId && e.method === "Network.requestWillBeSent")
      .map((e) => String((e.params.request as { url: string }).url));
  }

  /** Console and CSP messages the page logged since it was opened. */
  messages(): string[] {
    return this.browser.events
      .filter((e) => e.sessionId === this.sessionId && (e.method === "Log.entryAdded" || e.method === "Runtime.consoleAPICalled"))
      .map((e) => JSON.stringify(e.params));
  }

  /** How many elements match a CSS selector. */
  async count(selector: string): Promise<number> {
    const { root } = (await this.send("DOM.getDocument", { depth: 0 })) as { root: { nodeId: number } };
    const { nodeIds } = (await this.send("DOM.querySelectorAll", { nodeId: root.nodeId, selector })) as { nodeIds: number[] };
    return nodeIds.length;
  }

  /** A computed style property of the first element matching the selector. */
  async style(selector: string, property: string): Promise<string | undefined> {
    const { root } = (await this.send("DOM.getDocument", { depth: 0 })) as { root: { nodeId: number } };
    const { nodeId } = (await this.send("DOM.querySelector", { nodeId: root.nodeId, selector })) as { nodeId: number };
    const { computedStyle } = (await this.send("CSS.getComputedStyleForNode", { nodeId })) as { computedStyle: { name: string; value: string }[] };
    return computedStyle.find((p) => p.name === property)?.value;
  }

  /** Sets the window: width in CSS pixels, a phone's or a laptop's. */
  async viewport(width: number, height: number, mobile: boolean): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile });
  }

  /** The page's content size in CSS pixels. */
  async contentSize(): Promise<{ width: number; height: number }> {
    const metrics = (await this.send("Page.getLayoutMetrics")) as { cssContentSize: { width: number; height: number } };
    return metrics.cssContentSize;
  }

  /** A PNG of the window, or of the whole page at the window's width. */
  async screenshot(whole: boolean): Promise<Buffer> {
    const params: Record<string, unknown> = { format: "png" };
    if (whole) {
      const { width, height } = await this.contentSize();
      Object.assign(params, { captureBeyondViewport: true, clip: { x: 0, y: 0, width, height: Math.min(height, 16000), scale: 1 } });
    }
    const { data } = (await this.send("Page.captureScreenshot", params)) as { data: string };
    return Buffer.from(data, "base64");
  }
}
