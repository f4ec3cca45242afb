import { describe, expect, it } from "vitest";
import { StartAhead } from "../../src/workers/start-ahead.js";

/**
 * Work started ahead of its consumer (a folder's small files while discovery runs): at most `limit` unanswered at
 * once, the rest started in the order offered as answers come, nothing once stopped.
 */
describe("StartAhead", () => {
  it("starts at most `limit` items ahead, the next ones in order as answers come, none after stop", () => {
    const started: number[] = [];
    const ahead = new StartAhead<number>(64, (n) => started.push(n));
    for (let i = 0; i < 1000; i++) ahead.offer(i);
    expect(started).toEqual([...Array(64).keys()]);
    expect(ahead.inFlight).toBe(64);
    expect(ahead.queued).toBe(936);
    ahead.answered(32);
    expect(started).toHaveLength(96);
    expect(started.at(-1)).toBe(95);
    ahead.answered(50);
    expect(ahead.inFlight).toBe(64);
    expect(started).toEqual([...Array(146).keys()]);
    ahead.stop();
    ahead.answered(64);
    ahead.offer(5000);
    expect(started).toHaveLength(146);
    expect(ahead.queued).toBe(0);
  });

  it("starts at once while under the limit, and again after its queue ran dry", () => {
    const started: string[] = [];
    const ahead = new StartAhead<string>(2, (s) => started.push(s));
    ahead.offer("a");
    ahead.offer("b");
    ahead.offer("c");
    expect(started).toEqual(["a", "b"]);
    ahead.answered(2);
    expect(started).toEqual(["a", "b", "c"]);
    ahead.answered(1);
    ahead.offer("d");
    expect(started).toEqual(["a", "b", "c", "d"]);
    expect(ahead.inFlight).toBe(1);
  });
});
