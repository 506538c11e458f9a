/**
 * The `limit` greatest items of an iterable under `better` (best first), in O(n log limit)
 * time and O(limit) memory: the admin API's top-N sessions scan every session once but never
 * sort or copy the full list.
 */
export function topN<T>(items: Iterable<T>, limit: number, better: (a: T, b: T) => boolean): T[] {
  if (limit <= 0) return [];
  // A binary heap whose root is the worst of the kept items.
  const heap: T[] = [];
  const worse = (i: number, j: number): boolean => better(heap[j]!, heap[i]!);
  const swap = (i: number, j: number): void => {
    const t = heap[i]!;
    heap[i] = heap[j]!;
    heap[j] = t;
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < heap.length && worse(l, w)) w = l;
      if (r < heap.length && worse(r, w)) w = r;
      if (w === i) return;
      swap(i, w);
      i = w;
    }
  };
  for (const item of items) {
    if (heap.length < limit) {
      heap.push(item);
      for (let i = heap.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!worse(i, p)) break;
        swap(i, p);
        i = p;
      }
    } else if (better(item, heap[0]!)) {
      heap[0] = item;
      down(0);
    }
  }
  return heap.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
}
