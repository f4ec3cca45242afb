/**
 * Work started ahead of its consumer, at most `limit` items unanswered at once: past that, items wait, in the
 * order offered, for answers to free their places. (A folder's small files were all started as discovery found
 * them — it outruns the workers — and each held a task, a place in a batch and promises until its turn: 10,000
 * of them, which the main thread's garbage collector copied and promoted while they waited.)
 */
export class StartAhead<T> {
  private readonly waiting: T[] = [];
  /** The first item of `waiting` not started yet. */
  private next = 0;
  private unanswered = 0;
  private stopped = false;

  constructor(
    private readonly limit: number,
    private readonly start: (item: T) => void,
  ) {}

  /** Items started and not answered yet. */
  get inFlight(): number {
    return this.unanswered;
  }

  /** Items offered and not started yet. */
  get queued(): number {
    return this.waiting.length - this.next;
  }

  /** Starts `item` now if there is room and nothing waits before it; else it waits its turn. */
  offer(item: T): void {
    if (this.stopped) return;
    if (this.queued > 0 || this.unanswered >= this.limit) this.waiting.push(item);
    else this.begin(item);
  }

  /** `n` started items were answered: as many waiting ones start. */
  answered(n: number): void {
    this.unanswered = Math.max(0, this.unanswered - n);
    while (!this.stopped && this.queued > 0 && this.unanswered < this.limit) this.begin(this.waiting[this.next++]!);
    if (this.queued === 0) {
      this.waiting.length = 0;
      this.next = 0;
    }
  }

  /** Starts nothing more; what waits is dropped (its consumer starts it itself). */
  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
    this.next = 0;
  }

  private begin(item: T): void {
    this.unanswered++;
    this.start(item);
  }
}
