/**
 * When each device's answer from the chain changes next. See {@link createChangeSchedule}.
 *
 * @example
 * schedule.set('0xcar', 1_700_000_000n)
 * schedule.due(blockTimestamp) // ['0xcar'] once the block's time reaches it
 */
export type ChangeSchedule = {
  /** Sets (or, with null, forgets) the chain time at which `key`'s answer changes next. */
  set(key: string, at: bigint | null): void
  /** The earliest time set, or null when nothing is scheduled: O(1), so it can be asked on every block. */
  next(): bigint | null
  /** Takes out and returns every key whose time is ≤ `now`, earliest first. */
  due(now: bigint): string[]
  /** How many keys are scheduled. */
  readonly size: number
}

type Entry = { at: bigint; key: string }

/**
 * A min-heap of (time, key) with one live time per key: `set` is O(log n), `next` O(1), `due` O(k log n)
 * for the k keys it returns, so a block that changes nothing costs nothing however many devices there are
 * (no scan per block). A key set again leaves its old heap entry behind, skipped when it surfaces; the heap
 * is rebuilt when such stale entries outnumber the live ones, so a full pass that sets every key again does
 * not grow it without bound.
 *
 * @example
 * const schedule = createChangeSchedule()
 * schedule.set('a', 10n)
 * schedule.set('b', 5n)
 * schedule.due(7n) // ['b']
 */
export function createChangeSchedule(): ChangeSchedule {
  const live = new Map<string, bigint>()
  let heap: Entry[] = []

  const less = (i: number, j: number) => (heap[i] as Entry).at < (heap[j] as Entry).at
  const swap = (i: number, j: number) => {
    const t = heap[i] as Entry
    heap[i] = heap[j] as Entry
    heap[j] = t
  }
  const up = (start: number) => {
    for (let i = start; i > 0; ) {
      const parent = (i - 1) >> 1
      if (!less(i, parent)) return
      swap(i, parent)
      i = parent
    }
  }
  const down = (start: number) => {
    for (let i = start; ; ) {
      const l = 2 * i + 1
      const r = l + 1
      let least = i
      if (l < heap.length && less(l, least)) least = l
      if (r < heap.length && less(r, least)) least = r
      if (least === i) return
      swap(i, least)
      i = least
    }
  }
  const pop = () => {
    const top = heap[0] as Entry
    const last = heap.pop() as Entry
    if (heap.length > 0) {
      heap[0] = last
      down(0)
    }
    return top
  }
  const isLive = (entry: Entry) => live.get(entry.key) === entry.at
  /** Drops stale entries from the top, so heap[0] (if any) is live. */
  const settleTop = () => {
    while (heap.length > 0 && !isLive(heap[0] as Entry)) pop()
  }
  const rebuild = () => {
    heap = [...live].map(([key, at]) => ({ key, at }))
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i)
  }

  return {
    set(key, at) {
      if (at === null) live.delete(key)
      else if (live.get(key) !== at) {
        live.set(key, at)
        heap.push({ key, at })
        up(heap.length - 1)
      }
      if (heap.length > 2 * live.size + 64) rebuild()
    },
    next() {
      settleTop()
      return heap[0]?.at ?? null
    },
    due(now) {
      const keys: string[] = []
      for (settleTop(); heap.length > 0 && (heap[0] as Entry).at <= now; settleTop()) {
        const entry = pop()
        live.delete(entry.key)
        keys.push(entry.key)
      }
      return keys
    },
    get size() {
      return live.size
    },
  }
}
