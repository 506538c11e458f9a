/**
 * Handler results kept for answering duplicate client messages with the original `ok.data`,
 * bounded by a byte budget (UTF-8) per session: the oldest results are forgotten first, and
 * a result larger than the whole budget is not kept. Insertion-ordered Map: O(1) per call.
 */
const size = (text: string): number => Buffer.byteLength(text);

export class ResultBudget {
  private readonly results = new Map<string, string>();
  private used = 0;
  /** Results forgotten to stay within the budget (or too large to keep). */
  evicted = 0;

  constructor(private readonly budget: number) {}

  get size(): number {
    return this.results.size;
  }

  get usedBytes(): number {
    return this.used;
  }

  set(id: string, result: string): void {
    this.delete(id);
    const bytes = size(result);
    if (bytes > this.budget) {
      this.evicted++;
      return;
    }
    this.results.set(id, result);
    this.used += bytes;
    while (this.used > this.budget) {
      const oldest = this.results.entries().next();
      if (oldest.done === true) break;
      this.results.delete(oldest.value[0]);
      this.used -= size(oldest.value[1]);
      this.evicted++;
    }
  }

  get(id: string): string | undefined {
    return this.results.get(id);
  }

  delete(id: string): void {
    const old = this.results.get(id);
    if (old === undefined) return;
    this.results.delete(id);
    this.used -= size(old);
  }
}
